"""The demo books, shaped by JOURNEYS.md: Harbour Sheet Metal's organisation in its package
(contacts matching Factory's demo customers by email, by name only, and one doubtfully;
one both customer and supplier; many Factory does not know yet; two archived), the
chart of accounts and GST tax codes a new Australian organisation starts with,
items, and a few invoices (one part-paid, one paid) and a bill. A second, small
organisation lets a person pick between two.

Every id is a uuid5 of a fixed name, so ids are the same on every machine.
"""
from __future__ import annotations

import random
import uuid
from decimal import Decimal

NS = uuid.UUID("6f1d7c1e-4f7a-4c55-9a0e-5a2b3c4d5e6f")


def sid(*parts) -> str:
    return str(uuid.uuid5(NS, "/".join(str(p) for p in parts)))


HARBOUR_ID = sid("tenant", "harbour")
SECOND_ID = sid("tenant", "second")
HARBOUR_NAME = "Harbour Sheet Metal (Sandbox)"
SECOND_NAME = "Second Brand Pty Ltd"
SANDBOX_USER = "priya@harbour-books.example"

ORGANISATIONS = [
    dict(tenant_id=HARBOUR_ID, name=HARBOUR_NAME, legal="Harbour Sheet Metal Pty Ltd", short="!hsm01",
         abn="53 004 085 616", city="Port Kembla", region="NSW", postcode="2505", line1="7 Foundry Rd"),
    dict(tenant_id=SECOND_ID, name=SECOND_NAME, legal="Second Brand Pty Ltd", short="!sbr02",
         abn="11 222 333 444", city="Geelong", region="VIC", postcode="3220", line1="41 Moorabool St"),
]


def organisation_record(org: dict, created_ms: int) -> dict:
    """An organisation of the books (each face shows it its package's way)."""
    return {"id": org["tenant_id"], "name": org["name"], "legal_name": org["legal"], "short_code": org["short"],
            "tax_number": org["abn"], "country": "AU", "currency": "AUD", "pays_tax": True,
            "amounts_default": "exclusive", "line_of_business": "Sheet metal fabrication",
            "financial_year_end": {"day": 30, "month": 6}, "created_ms": created_ms,
            "address": {"kind": "street", "lines": [org["line1"]], "city": org["city"], "region": org["region"],
                        "postcode": org["postcode"], "country": "Australia"}}


# (name, email, kind, phone, street (line1, city, region, postcode), person, tax number, status)
# kind: C customer, S supplier, B both, - neither
HARBOUR_CONTACTS = [
    # Match Factory's demo customers by email exactly.
    ("Coastal Kitchens Pty Ltd", "accounts@coastalkitchens.example", "C", "02 9555 0101",
     ("14 Pittwater Rd", "Manly", "NSW", "2095"), ("Grace", "Lin"), "51 824 753 556", "ACTIVE"),
    ("Northern Rail Maintenance", "purchasing@nrm.example", "C", "07 3555 0110",
     ("88 Lutwyche Rd", "Windsor", "QLD", "4030"), ("Dev", "Pillai"), "33 051 775 556", "ACTIVE"),
    # Same email, name with a suffix: a match by email, different name.
    ("Ridgeline Builders Pty Ltd", "ap@ridgeline.example", "C", "02 4555 0199",
     ("3/22 Industrial Ave", "Wollongong", "NSW", "2500"), ("Sam", "Okafor"), "", "ACTIVE"),
    # Same name, different email: the doubtful one.
    ("Bayside Air Conditioning", "accounts@bayside-air.example", "C", "03 9555 0142",
     ("5 Nepean Hwy", "Brighton", "VIC", "3186"), ("Luca", "Ferraro"), "", "ACTIVE"),
    # Both a customer and a supplier.
    ("Precision Laser Cutting", "sales@precisionlaser.example", "B", "02 8555 0170",
     ("2 Kirkham Rd", "Auburn", "NSW", "2144"), ("Mei", "Tanaka"), "62 113 005 921", "ACTIVE"),
    # Factory's suppliers.
    ("BlueScope Distribution", "orders@bluescope-dist.example", "S", "1300 555 010",
     ("Five Islands Rd", "Port Kembla", "NSW", "2505"), ("Hannah", "Reid"), "16 000 011 058", "ACTIVE"),
    ("Fastenings Direct Pty. Ltd.", "accounts@fasteningsdirect.example", "S", "02 9555 0222",
     ("19 Hume Hwy", "Chullora", "NSW", "2190"), None, "", "ACTIVE"),
    # Businesses Factory does not know yet.
    ("Illawarra Shopfitters", "admin@illawarrashopfit.example", "C", "02 4255 0301",
     ("40 Montague St", "North Wollongong", "NSW", "2500"), ("Kate", "Morrison"), "", "ACTIVE"),
    ("Southern Cross Ventilation", "ap@scventilation.example", "C", "02 9755 0342",
     ("12 Stanley St", "Peakhurst", "NSW", "2210"), ("Omar", "Haddad"), "", "ACTIVE"),
    ("Kiama Marine Services", "office@kiamamarine.example", "C", "02 4232 0390",
     ("1 Terralong St", "Kiama", "NSW", "2533"), ("Jack", "Brennan"), "", "ACTIVE"),
    ("Hunter Valley Cellars", "accounts@huntercellars.example", "C", "02 4998 0311",
     ("210 Broke Rd", "Pokolbin", "NSW", "2320"), ("Sophie", "Tran"), "", "ACTIVE"),
    ("Parramatta Commercial Kitchens", "orders@parrakitchens.example", "C", "02 9635 0377",
     ("77 Church St", "Parramatta", "NSW", "2150"), ("Ahmed", "Karimi"), "", "ACTIVE"),
    ("Geelong Signage Co", "hello@geelongsignage.example", "C", "03 5222 0318",
     ("9 Malop St", "Geelong", "VIC", "3220"), None, "", "ACTIVE"),
    ("Cairns Refrigeration", "service@cairnsrefrig.example", "C", "07 4051 0355",
     ("33 Aumuller St", "Portsmouth", "QLD", "4870"), ("Ben", "Walsh"), "", "ACTIVE"),
    ("Adelaide Hills Joinery", "accounts@ahjoinery.example", "C", "08 8388 0322",
     ("4 Mount Barker Rd", "Hahndorf", "SA", "5245"), ("Ruth", "Klein"), "", "ACTIVE"),
    ("Fremantle Boatworks", "yard@freoboatworks.example", "C", "08 9335 0371",
     ("15 Mews Rd", "Fremantle", "WA", "6160"), ("Tariq", "Aziz"), "", "ACTIVE"),
    ("Hobart Brewing Supplies", "orders@hobartbrew.example", "C", "03 6234 0306",
     ("62 Macquarie St", "Hobart", "TAS", "7000"), None, "", "ACTIVE"),
    ("Canberra Data Centres Fitout", "procurement@cdcfitout.example", "C", "02 6162 0345",
     ("8 Lonsdale St", "Braddon", "ACT", "2612"), ("Priscilla", "Nguyen"), "", "ACTIVE"),
    ("Darwin Mining Maintenance", "ap@dmm.example", "C", "08 8981 0360",
     ("27 Winnellie Rd", "Winnellie", "NT", "0820"), ("Craig", "Dunn"), "", "ACTIVE"),
    ("Shellharbour Council", "accountspayable@shellharbour.example", "C", "02 4221 6111",
     ("76 Cygnet Ave", "Shellharbour City Centre", "NSW", "2529"), None, "", "ACTIVE"),
    ("Wollongong Hospital Engineering", "engineering@wghealth.example", "C", "02 4222 5000",
     ("Loftus St", "Wollongong", "NSW", "2500"), ("Anika", "Shah"), "", "ACTIVE"),
    ("Metro Ductwork Solutions", "quotes@metroduct.example", "C", "02 9648 0388",
     ("3 Silverwater Rd", "Silverwater", "NSW", "2128"), ("Liam", "O'Connor"), "", "ACTIVE"),
    ("Allied Steel Traders", "sales@alliedsteel.example", "S", "02 9725 0401",
     ("110 Woodpark Rd", "Smithfield", "NSW", "2164"), ("Nick", "Papadopoulos"), "", "ACTIVE"),
    ("Industrial Gases Australia", "accounts@iga-gases.example", "S", "1300 555 427",
     ("18 Nelson Rd", "Yennora", "NSW", "2161"), None, "", "ACTIVE"),
    ("Powder Coat Pros", "jobs@powdercoatpros.example", "S", "02 4271 0433",
     ("6 Flinders St", "Port Kembla", "NSW", "2505"), ("Elena", "Rossi"), "", "ACTIVE"),
    ("Abrasives & Tooling Co", "orders@abrasivestooling.example", "S", "03 9555 0480",
     ("25 Princes Hwy", "Dandenong", "VIC", "3175"), None, "", "ACTIVE"),
    ("Southern Freight Lines", "billing@southernfreight.example", "S", "02 4229 0456",
     ("Springhill Rd", "Coniston", "NSW", "2500"), ("Mark", "Ellis"), "", "ACTIVE"),
    ("Origin Energy Business", "business@originenergy.example", "S", "13 24 61",
     ("Level 32, 60 Margaret St", "Sydney", "NSW", "2000"), None, "", "ACTIVE"),
    ("Telstra Business", "billing@telstra-business.example", "S", "13 20 00",
     ("242 Exhibition St", "Melbourne", "VIC", "3000"), None, "", "ACTIVE"),
    ("Kembla Grange Earthmoving", "office@kgearthmoving.example", "-", "02 4261 0499",
     ("Princes Hwy", "Kembla Grange", "NSW", "2526"), ("Dave", "Morgan"), "", "ACTIVE"),
    ("Sarah Whitfield", "sarah.whitfield@mail.example", "C", "0412 555 377",
     ("9 Bourke St", "Thirroul", "NSW", "2515"), None, "", "ACTIVE"),
    # Archived: hidden unless includeArchived=true.
    ("Old Mill Fabrications", "accounts@oldmillfab.example", "S", "02 4555 0911",
     ("1 Mill Rd", "Unanderra", "NSW", "2526"), None, "", "ARCHIVED"),
    ("Tasman Roofing (closed)", "office@tasmanroofing.example", "C", "02 4555 0922",
     ("15 Tasman Pde", "Bulli", "NSW", "2516"), None, "", "ARCHIVED"),
]

SECOND_CONTACTS = [
    ("Geelong Cafe Fitouts", "hello@geelongcafe.example", "C", "03 5222 0101",
     ("3 Little Malop St", "Geelong", "VIC", "3220"), ("Nina", "Ward"), "", "ACTIVE"),
    ("Surf Coast Builders", "accounts@surfcoastbuild.example", "C", "03 5261 0202",
     ("10 Great Ocean Rd", "Torquay", "VIC", "3228"), None, "", "ACTIVE"),
    ("Bellarine Steel Supplies", "orders@bellarinesteel.example", "S", "03 5251 0303",
     ("5 Portarlington Rd", "Drysdale", "VIC", "3222"), ("Paul", "Greco"), "", "ACTIVE"),
    ("Coastal Kitchens Pty Ltd", "accounts@coastalkitchens.example", "C", "02 9555 0101",
     ("14 Pittwater Rd", "Manly", "NSW", "2095"), None, "", "ACTIVE"),
]

POSTBOX = {"NSW": "2001", "VIC": "3001", "QLD": "4001", "SA": "5001", "WA": "6001", "TAS": "7001",
           "ACT": "2601", "NT": "0801"}


def contact_record(tenant: str, row, updated_ms: int) -> dict:
    name, email, kind, phone, street, person, abn, status = row
    line1, city, region, postcode = street
    record = {
        "id": sid(tenant, "contact", name), "name": name, "number": "", "first_name": "", "last_name": "",
        "email": email, "status": status.lower(), "is_customer": kind in ("C", "B"),
        "is_supplier": kind in ("S", "B"), "tax_number": abn, "account_number": "", "company_number": "",
        "bank_account": "", "currency": "",
        "website": "https://" + email.split("@", 1)[1].replace("mail.example", "example") if "@" in email else "",
        "addresses": [
            {"kind": "postal", "lines": [f"PO Box {100 + len(name) * 7}"], "city": city, "region": region,
             "postcode": POSTBOX.get(region, postcode), "country": "Australia", "attention": ""},
            {"kind": "street", "lines": [line1], "city": city, "region": region, "postcode": postcode,
             "country": "Australia", "attention": ""},
        ],
        "phones": [{"kind": "default", "number": phone, "area": "", "country": "61"},
                   {"kind": "direct", "number": "", "area": "", "country": ""},
                   {"kind": "fax", "number": "", "area": "", "country": ""},
                   {"kind": "mobile", "number": "", "area": "", "country": ""}],
        "people": [], "defaults": {}, "groups": [], "updated_ms": updated_ms,
    }
    if person:
        first, last = person
        domain = email.split("@", 1)[1]
        record["people"] = [{"first_name": first, "last_name": last,
                             "email": f"{first.lower()}.{last.lower().replace(chr(39), '')}@{domain}",
                             "include_in_emails": True}]
        record["first_name"], record["last_name"] = first, last
        record["phones"][3]["number"] = f"04{(sum(map(ord, name)) * 7919) % 100000000:08d}"
    return record


# The chart of accounts a new Australian organisation starts with (its package's standard one).
# (code, name, type (catalogue.ACCOUNT_TYPES), tax code, system role, takes payments)
ACCOUNTS = [
    ("090", "Business Bank Account", "bank", "BASEXCLUDED", "", True),
    ("091", "Business Savings Account", "bank", "BASEXCLUDED", "", True),
    ("200", "Sales", "revenue", "OUTPUT", "", False),
    ("260", "Other Revenue", "revenue", "OUTPUT", "", False),
    ("270", "Interest Income", "revenue", "EXEMPTOUTPUT", "", False),
    ("300", "Purchases", "cost_of_sales", "INPUT", "", False),
    ("310", "Cost of Goods Sold", "cost_of_sales", "INPUT", "", False),
    ("400", "Advertising", "expense", "INPUT", "", False),
    ("404", "Bank Fees", "expense", "EXEMPTEXPENSES", "", False),
    ("408", "Cleaning", "expense", "INPUT", "", False),
    ("412", "Consulting & Accounting", "expense", "INPUT", "", False),
    ("416", "Depreciation", "depreciation", "BASEXCLUDED", "", False),
    ("420", "Entertainment", "expense", "EXEMPTEXPENSES", "", False),
    ("425", "Freight & Courier", "expense", "INPUT", "", False),
    ("429", "General Expenses", "expense", "INPUT", "", False),
    ("433", "Insurance", "expense", "INPUT", "", False),
    ("445", "Light, Power, Heating", "expense", "INPUT", "", False),
    ("449", "Motor Vehicle Expenses", "expense", "INPUT", "", False),
    ("461", "Printing & Stationery", "expense", "INPUT", "", False),
    ("469", "Rent", "expense", "INPUT", "", False),
    ("473", "Repairs and Maintenance", "expense", "INPUT", "", False),
    ("477", "Wages and Salaries", "expense", "BASEXCLUDED", "", False),
    ("489", "Telephone & Internet", "expense", "INPUT", "", False),
    ("610", "Accounts Receivable", "current_asset", "BASEXCLUDED", "debtors", False),
    ("620", "Prepayments", "current_asset", "BASEXCLUDED", "", False),
    ("630", "Inventory", "inventory", "BASEXCLUDED", "", False),
    ("710", "Office Equipment", "fixed_asset", "INPUT", "", False),
    ("720", "Computer Equipment", "fixed_asset", "INPUT", "", False),
    ("800", "Accounts Payable", "current_liability", "BASEXCLUDED", "creditors", False),
    ("801", "Unpaid Expense Claims", "current_liability", "BASEXCLUDED", "unpaidexpclm", False),
    ("820", "GST", "current_liability", "BASEXCLUDED", "gst", False),
    ("825", "PAYG Withholdings Payable", "current_liability", "BASEXCLUDED", "", False),
    ("840", "Historical Adjustment", "current_liability", "BASEXCLUDED", "historical", False),
    ("860", "Rounding", "current_liability", "BASEXCLUDED", "rounding", False),
    ("877", "Tracking Transfers", "current_liability", "BASEXCLUDED", "trackingtransfers", False),
    ("900", "Loan", "long_term_liability", "BASEXCLUDED", "", False),
    ("960", "Retained Earnings", "equity", "BASEXCLUDED", "retainedearnings", False),
    ("970", "Owner A Funds Introduced", "equity", "BASEXCLUDED", "", False),
]


def account_record(tenant: str, row, updated_ms: int) -> dict:
    code, name, kind, tax, system, payments = row
    return {"id": sid(tenant, "account", code), "code": code, "name": name, "type": kind, "tax_code": tax,
            "system": system, "payments_enabled": payments, "status": "active", "currency": "AUD",
            "bank_number": "062000 12345678" if kind == "bank" else "", "updated_ms": updated_ms}


# (name, code, report code, rate, for revenue, expenses, assets, liabilities, equity)
TAX_RATES = [
    ("GST on Income", "OUTPUT", "OUTPUT", "10", True, False, True, True, True),
    ("GST on Expenses", "INPUT", "INPUT", "10", False, True, True, True, True),
    ("GST Free Income", "EXEMPTOUTPUT", "EXEMPTOUTPUT", "0", True, False, True, True, True),
    ("GST Free Expenses", "EXEMPTEXPENSES", "EXEMPTEXPENSES", "0", False, True, True, True, True),
    ("BAS Excluded", "BASEXCLUDED", "BASEXCLUDED", "0", True, True, True, True, True),
    ("GST on Imports", "GSTONIMPORTS", "GSTONIMPORTS", "0", False, True, True, True, False),
    ("GST on Capital", "CAPEXINPUT", "CAPITALEXPENSESINPUT", "10", False, True, True, False, False),
    ("GST Free Capital", "EXEMPTCAPITAL", "EXEMPTCAPITAL", "0", False, True, True, False, False),
    ("GST Free Exports", "EXEMPTEXPORT", "EXEMPTEXPORT", "0", True, False, False, False, False),
    ("Input Taxed", "INPUTTAXED", "INPUTTAXED", "0", True, True, True, True, True),
]


def tax_code_record(tenant: str, row) -> dict:
    name, code, report, rate, rev, exp, assets, liab, equity = row
    applies = [what for what, flag in (("revenue", rev), ("expenses", exp), ("assets", assets),
                                       ("liabilities", liab), ("equity", equity)) if flag]
    return {"id": sid(tenant, "tax", code), "code": code, "name": name, "report_code": report,
            "rate": Decimal(rate), "applies_to": applies, "status": "active"}


# (code, name, description, sale price, purchase price, tracked)
HARBOUR_ITEMS = [
    ("PNL-1200", "Zincalume panel 1200 x 600", "Zincalume panel 1200 x 600, 0.8 mm, folded edges", "48.50", "21.30", False),
    ("DCT-300", "Galvanised duct 300 mm", "Galvanised spiral duct 300 mm, per metre", "36.40", "14.90", False),
    ("FAB-HR", "Fabrication labour", "Workshop fabrication labour, per hour", "95.00", None, False),
    ("PNL-3000", "Colorbond panel 3000 x 1200", "Colorbond panel 3000 x 1200, 0.6 mm", "164.00", "78.20", False),
    ("FLS-90", "Flashing 90 degree", "Custom flashing, 90 degree bend, per metre", "12.80", "4.10", False),
    ("LSR-CUT", "Laser cutting", "Laser cutting, per machine minute", "3.20", None, False),
    ("GAL-SHT", "Galvanised sheet 2400 x 1200", "Galvanised sheet 2400 x 1200 x 1.2 mm", None, "58.00", False),
]
SECOND_ITEMS = [
    ("SGN-A1", "Aluminium sign blank A1", "Aluminium composite sign blank, A1", "42.00", "18.00", False),
    ("FAB-HR", "Fabrication labour", "Fabrication labour, per hour", "90.00", None, False),
]


def item_record(tenant: str, row, updated_ms: int) -> dict:
    code, name, desc, sale, buy, tracked = row
    # laser cutting is bought in and sold on: the bookkeeper books its sales apart
    sold = {"price": Decimal(sale), "account_code": "260" if code == "LSR-CUT" else "200", "tax_code": "OUTPUT"} \
        if sale is not None else None
    bought = {"price": Decimal(buy), "account_code": "300", "tax_code": "INPUT"} if buy is not None else None
    return {"id": sid(tenant, "item", code), "code": code, "name": name, "description": desc,
            "purchase_description": desc if buy is not None else "", "tracked": tracked, "sold": sold,
            "bought": bought, "updated_ms": updated_ms}


# Harbour invoiced in its package before it took up Factory: its sales invoices carry the
# package's own numbers up to INV-0484, and the package numbers the next one INV-0485 (the organisation's
# "next invoice number" setting), so Factory's INV-0001... don't collide with them
HARBOUR_NEXT_INVOICE_NUMBER = 485


def harbour_invoices() -> list[dict]:
    """Invoices and bills for the demo company (made through the books' rules so totals
    compute): days are relative to today, "contact" is a contact's name, "payment" what
    was paid ("full" or an amount)."""
    def line(description, quantity, price, account, tax, item=None, discount=None):
        return {"description": description, "item_code": item, "quantity": quantity, "unit_price": price,
                "account_code": account, "tax_code": tax, "discount_rate": discount}
    return [
        dict(kind="sale", number="INV-0481", contact="Coastal Kitchens Pty Ltd", status="authorised",
             date_days=-20, due_days=10, reference="PO 4471",
             lines=[line("Zincalume panel 1200 x 600", "24", "48.50", "200", "OUTPUT", "PNL-1200"),
                    line("Fabrication labour", "6", "95.00", "200", "OUTPUT", "FAB-HR")]),
        dict(kind="sale", number="INV-0482", contact="Illawarra Shopfitters", status="authorised",
             date_days=-35, due_days=-5, reference="Shopfront canopy", payment="500.00",
             lines=[line("Colorbond panel 3000 x 1200", "8", "164.00", "200", "OUTPUT", "PNL-3000"),
                    line("Flashing 90 degree", "40", "12.80", "200", "OUTPUT", "FLS-90", "5")]),
        dict(kind="sale", number="INV-0483", contact="Northern Rail Maintenance", status="authorised",
             date_days=-60, due_days=-30, reference="Duct repairs depot 3", payment="full",
             lines=[line("Galvanised duct 300 mm", "18.5", "36.40", "200", "OUTPUT", "DCT-300")]),
        dict(kind="sale", number="INV-0484", contact="Precision Laser Cutting", status="draft",
             date_days=-2, due_days=28, reference="Brackets",
             lines=[line("Fabrication labour", "2.5", "95.00", "200", "OUTPUT", "FAB-HR")]),
        dict(kind="purchase", number="BSD-88213", contact="BlueScope Distribution", status="authorised",
             date_days=-12, due_days=18, reference="Coil order 2211",
             lines=[line("Galvanised sheet 2400 x 1200 x 1.2 mm", "30", "58.00", "300", "INPUT", "GAL-SHT")]),
        dict(kind="purchase", number="PLC-1042", contact="Precision Laser Cutting", status="authorised",
             date_days=-8, due_days=22, reference="Outsourced cutting",
             lines=[line("Laser cutting services", "1", "840.00", "310", "INPUT")]),
    ]


FIRST_NAMES = ["James", "Olivia", "Jack", "Charlotte", "Noah", "Amelia", "William", "Isla", "Thomas", "Mia",
               "Lucas", "Ava", "Ethan", "Grace", "Liam", "Chloe", "Oscar", "Zoe", "Henry", "Ruby"]
LAST_NAMES = ["Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Nguyen", "Johnson", "Martin", "White",
              "Anderson", "Walker", "Thompson", "Kelly", "Ryan", "Lee", "Harris", "Clarke", "Murphy", "Singh"]
PLACES = [("Wollongong", "NSW", "2500"), ("Newcastle", "NSW", "2300"), ("Parramatta", "NSW", "2150"),
          ("Geelong", "VIC", "3220"), ("Ballarat", "VIC", "3350"), ("Dandenong", "VIC", "3175"),
          ("Toowoomba", "QLD", "4350"), ("Townsville", "QLD", "4810"), ("Mackay", "QLD", "4740"),
          ("Launceston", "TAS", "7250"), ("Mount Gambier", "SA", "5290"), ("Bunbury", "WA", "6230"),
          ("Albury", "NSW", "2640"), ("Bendigo", "VIC", "3550"), ("Palmerston", "NT", "0830")]
TRADES = ["Fabrication", "Engineering", "Builders", "Kitchens", "Air Conditioning", "Electrical", "Plumbing",
          "Roofing", "Shopfitting", "Joinery", "Marine", "Mechanical", "Refrigeration", "Signage", "Steel"]
SUFFIXES = ["Pty Ltd", "Pty Ltd", "& Co", "Group", "Services", "Australia", "Pty. Ltd.", ""]
STREETS = ["Industrial Dr", "Princes Hwy", "Station St", "Foundry Rd", "Enterprise Cres", "Railway Pde",
           "Commercial Rd", "Harbour St", "Mill Rd", "Trade Ct"]


def bulk_contacts(tenant: str, count: int, customers: int, suppliers: int, both: int, start: int,
                  updated_ms: int) -> list[dict]:
    """count realistic contacts with unique names; the first `customers` are customers, then
    `suppliers` suppliers, then `both`; the rest are neither."""
    rng = random.Random(f"{tenant}:{start}:{count}")
    records = []
    for i in range(count):
        n = start + i
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, region, postcode = rng.choice(PLACES)
        base = f"{rng.choice([last, city, first + ' ' + last])} {rng.choice(TRADES)}"
        name = f"{base} {rng.choice(SUFFIXES)}".strip() + f" #{n:05d}"
        slug = "".join(ch for ch in base.lower() if ch.isalnum())[:24]
        kind = "C" if i < customers else "S" if i < customers + suppliers else "B" if i < customers + suppliers + both else "-"
        row = (name, f"accounts{n}@{slug}.example", kind, f"0{rng.choice('2378')} {rng.randint(4000, 9999)} {rng.randint(1000, 9999)}",
               (f"{rng.randint(1, 300)} {rng.choice(STREETS)}", city, region, postcode), (first, last), "", "ACTIVE")
        record = contact_record(tenant, row, updated_ms + i)
        record["id"] = sid(tenant, "bulk", n)
        records.append(record)
    return records
