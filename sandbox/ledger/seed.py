"""The demo books, shaped by JOURNEYS.md: Harbour Sheet Metal's Xero organisation
(contacts matching Factory's demo customers by email, by name only, and one doubtfully;
one both customer and supplier; many Factory does not know yet; two archived), the
chart of accounts and GST tax rates a new Australian Xero organisation starts with,
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


def organisation_doc(org: dict, created_ms: int) -> dict:
    return {
        "OrganisationID": org["tenant_id"], "APIKey": "", "Name": org["name"], "LegalName": org["legal"],
        "PaysTax": True, "Version": "AU", "OrganisationType": "COMPANY", "BaseCurrency": "AUD",
        "CountryCode": "AU", "IsDemoCompany": False, "OrganisationStatus": "ACTIVE",
        "RegistrationNumber": org["abn"], "TaxNumber": org["abn"], "FinancialYearEndDay": 30,
        "FinancialYearEndMonth": 6, "SalesTaxBasis": "ACCRUAL", "SalesTaxPeriod": "QUARTERLY1",
        "DefaultSalesTax": "Tax Exclusive", "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": f"/Date({created_ms}+0000)/", "OrganisationEntityType": "COMPANY",
        "Timezone": "AUSEASTERNSTANDARDTIME", "ShortCode": org["short"], "Edition": "BUSINESS", "Class": "STANDARD",
        "LineOfBusiness": "Sheet metal fabrication",
        "Addresses": [{"AddressType": "STREET", "AddressLine1": org["line1"], "City": org["city"],
                       "Region": org["region"], "PostalCode": org["postcode"], "Country": "Australia"}],
        "Phones": [], "ExternalLinks": [], "PaymentTerms": {},
    }


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


def contact_doc(tenant: str, row, updated_ms: int) -> dict:
    name, email, kind, phone, street, person, abn, status = row
    line1, city, region, postcode = street
    contact_id = sid(tenant, "contact", name)
    mobile = "04" + str(abs(hash(name)) % 10**8).zfill(8) if False else ""
    doc = {
        "ContactID": contact_id, "ContactStatus": status, "Name": name, "EmailAddress": email,
        "BankAccountDetails": "", "TaxNumber": abn,
        "Addresses": [
            {"AddressType": "POBOX", "AddressLine1": f"PO Box {100 + len(name) * 7}", "City": city, "Region": region,
             "PostalCode": POSTBOX.get(region, postcode), "Country": "Australia"},
            {"AddressType": "STREET", "AddressLine1": line1, "City": city, "Region": region,
             "PostalCode": postcode, "Country": "Australia"},
        ],
        "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": phone, "PhoneAreaCode": "", "PhoneCountryCode": "61"},
                   {"PhoneType": "DDI", "PhoneNumber": "", "PhoneAreaCode": "", "PhoneCountryCode": ""},
                   {"PhoneType": "FAX", "PhoneNumber": "", "PhoneAreaCode": "", "PhoneCountryCode": ""},
                   {"PhoneType": "MOBILE", "PhoneNumber": mobile, "PhoneAreaCode": "", "PhoneCountryCode": ""}],
        "IsSupplier": kind in ("S", "B"), "IsCustomer": kind in ("C", "B"),
        "ContactPersons": [], "ContactGroups": [], "HasAttachments": False, "HasValidationErrors": False,
        "Website": "https://" + email.split("@", 1)[1].replace("mail.example", "example") if "@" in email else "",
        "UpdatedDateUTC": updated_ms,
    }
    if person:
        first, last = person
        domain = email.split("@", 1)[1]
        doc["ContactPersons"] = [{"FirstName": first, "LastName": last,
                                  "EmailAddress": f"{first.lower()}.{last.lower().replace(chr(39), '')}@{domain}",
                                  "IncludeInEmails": True}]
        doc["FirstName"], doc["LastName"] = first, last
        doc["Phones"][3]["PhoneNumber"] = f"04{(sum(map(ord, name)) * 7919) % 100000000:08d}"
    return doc


# Chart of accounts a new Australian Xero organisation starts with.
# (code, name, type, tax type, class, system account, enable payments)
ACCOUNTS = [
    ("090", "Business Bank Account", "BANK", "BASEXCLUDED", "ASSET", "", True),
    ("091", "Business Savings Account", "BANK", "BASEXCLUDED", "ASSET", "", True),
    ("200", "Sales", "REVENUE", "OUTPUT", "REVENUE", "", False),
    ("260", "Other Revenue", "REVENUE", "OUTPUT", "REVENUE", "", False),
    ("270", "Interest Income", "REVENUE", "EXEMPTOUTPUT", "REVENUE", "", False),
    ("300", "Purchases", "DIRECTCOSTS", "INPUT", "EXPENSE", "", False),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "INPUT", "EXPENSE", "", False),
    ("400", "Advertising", "EXPENSE", "INPUT", "EXPENSE", "", False),
    ("404", "Bank Fees", "EXPENSE", "EXEMPTEXPENSES", "EXPENSE", "", False),
    ("408", "Cleaning", "EXPENSE", "INPUT", "EXPENSE", "", False),
    ("412", "Consulting & Accounting", "EXPENSE", "INPUT", "EXPENSE", "", False),
    ("416", "Depreciation", "DEPRECIATN", "BASEXCLUDED", "EXPENSE", "", False),
    ("420", "Entertainment", "EXPENSE", "EXEMPTEXPENSES", "EXPENSE", "", False),
    ("425", "Freight & Courier", "EXPENSE", "INPUT", "EXPENSE", "", False),
    ("429", "General Expenses", "EXPENSE", "INPUT", "EXPENSE", "", False),
    ("433", "Insurance", "EXPENSE", "INPUT", "EXPENSE", "", False),
    ("445", "Light, Power, Heating", "EXPENSE", "INPUT", "EXPENSE", "", False),
    ("449", "Motor Vehicle Expenses", "EXPENSE", "INPUT", "EXPENSE", "", False),
    ("461", "Printing & Stationery", "EXPENSE", "INPUT", "EXPENSE", "", False),
    ("469", "Rent", "EXPENSE", "INPUT", "EXPENSE", "", False),
    ("473", "Repairs and Maintenance", "EXPENSE", "INPUT", "EXPENSE", "", False),
    ("477", "Wages and Salaries", "EXPENSE", "BASEXCLUDED", "EXPENSE", "", False),
    ("489", "Telephone & Internet", "EXPENSE", "INPUT", "EXPENSE", "", False),
    ("610", "Accounts Receivable", "CURRENT", "BASEXCLUDED", "ASSET", "DEBTORS", False),
    ("620", "Prepayments", "CURRENT", "BASEXCLUDED", "ASSET", "", False),
    ("630", "Inventory", "INVENTORY", "BASEXCLUDED", "ASSET", "", False),
    ("710", "Office Equipment", "FIXED", "INPUT", "ASSET", "", False),
    ("720", "Computer Equipment", "FIXED", "INPUT", "ASSET", "", False),
    ("800", "Accounts Payable", "CURRLIAB", "BASEXCLUDED", "LIABILITY", "CREDITORS", False),
    ("801", "Unpaid Expense Claims", "CURRLIAB", "BASEXCLUDED", "LIABILITY", "UNPAIDEXPCLM", False),
    ("820", "GST", "CURRLIAB", "BASEXCLUDED", "LIABILITY", "GST", False),
    ("825", "PAYG Withholdings Payable", "CURRLIAB", "BASEXCLUDED", "LIABILITY", "", False),
    ("840", "Historical Adjustment", "CURRLIAB", "BASEXCLUDED", "LIABILITY", "HISTORICAL", False),
    ("860", "Rounding", "CURRLIAB", "BASEXCLUDED", "LIABILITY", "ROUNDING", False),
    ("877", "Tracking Transfers", "CURRLIAB", "BASEXCLUDED", "LIABILITY", "TRACKINGTRANSFERS", False),
    ("900", "Loan", "TERMLIAB", "BASEXCLUDED", "LIABILITY", "", False),
    ("960", "Retained Earnings", "EQUITY", "BASEXCLUDED", "EQUITY", "RETAINEDEARNINGS", False),
    ("970", "Owner A Funds Introduced", "EQUITY", "BASEXCLUDED", "EQUITY", "", False),
]


def account_doc(tenant: str, row, updated_ms: int) -> dict:
    code, name, kind, tax, klass, system, payments = row
    doc = {"AccountID": sid(tenant, "account", code), "Code": code, "Name": name, "Status": "ACTIVE", "Type": kind,
           "TaxType": tax, "Class": klass, "EnablePaymentsToAccount": payments, "ShowInExpenseClaims": kind == "EXPENSE",
           "BankAccountNumber": "062000 12345678" if kind == "BANK" else "", "CurrencyCode": "AUD",
           "ReportingCode": "", "ReportingCodeName": "", "HasAttachments": False, "AddToWatchlist": False,
           "UpdatedDateUTC": updated_ms}
    if kind == "BANK":
        doc["BankAccountType"] = "BANK"
    if system:
        doc["SystemAccount"] = system
    return doc


# (name, tax type, report tax type, rate, revenue, expenses, assets, liabilities, equity)
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


def tax_rate_doc(row) -> dict:
    name, tax_type, report, rate, rev, exp, assets, liab, equity = row
    rate = Decimal(rate)
    return {"Name": name, "TaxType": tax_type, "ReportTaxType": report, "Status": "ACTIVE",
            "TaxComponents": [{"Name": "GST", "Rate": rate, "IsCompound": False, "IsNonRecoverable": False}],
            "CanApplyToAssets": assets, "CanApplyToEquity": equity, "CanApplyToExpenses": exp,
            "CanApplyToLiabilities": liab, "CanApplyToRevenue": rev,
            "DisplayTaxRate": rate, "EffectiveRate": rate}


def tax_percent(tax_rates: list[dict], tax_type: str | None) -> Decimal | None:
    for row in tax_rates:
        if row["TaxType"] == tax_type:
            return Decimal(str(row["EffectiveRate"]))
    return None


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


def item_doc(tenant: str, row, updated_ms: int) -> dict:
    code, name, desc, sale, buy, tracked = row
    doc = {"ItemID": sid(tenant, "item", code), "Code": code, "Name": name, "Description": desc,
           "IsSold": sale is not None, "IsPurchased": buy is not None, "IsTrackedAsInventory": tracked,
           "UpdatedDateUTC": updated_ms}
    if sale is not None:
        # laser cutting is bought in and sold on: the bookkeeper books its sales apart
        account = "260" if code == "LSR-CUT" else "200"
        doc["SalesDetails"] = {"UnitPrice": Decimal(sale), "AccountCode": account, "TaxType": "OUTPUT"}
    else:
        doc["SalesDetails"] = {}
    if buy is not None:
        doc["PurchaseDescription"] = desc
        doc["PurchaseDetails"] = {"UnitPrice": Decimal(buy), "AccountCode": "300", "TaxType": "INPUT"}
    else:
        doc["PurchaseDetails"] = {}
    return doc


# Harbour invoiced in Xero before it took up Factory: its sales invoices carry Xero's own
# numbers up to INV-0484, and Xero numbers the next one INV-0485 (the organisation's
# "next invoice number" setting), so Factory's INV-0001... don't collide with them
HARBOUR_NEXT_INVOICE_NUMBER = 485


def harbour_invoices() -> list[dict]:
    """Invoices and a bill for the demo company (created through the store so totals compute)."""
    return [
        dict(Type="ACCREC", InvoiceNumber="INV-0481", Contact={"Name": "Coastal Kitchens Pty Ltd"}, Status="AUTHORISED",
             Date_days=-20, Due_days=10, Reference="PO 4471",
             LineItems=[{"Description": "Zincalume panel 1200 x 600", "ItemCode": "PNL-1200", "Quantity": "24",
                         "UnitAmount": "48.50", "AccountCode": "200", "TaxType": "OUTPUT"},
                        {"Description": "Fabrication labour", "ItemCode": "FAB-HR", "Quantity": "6",
                         "UnitAmount": "95.00", "AccountCode": "200", "TaxType": "OUTPUT"}]),
        dict(Type="ACCREC", InvoiceNumber="INV-0482", Contact={"Name": "Illawarra Shopfitters"}, Status="AUTHORISED",
             Date_days=-35, Due_days=-5, Reference="Shopfront canopy", payment="500.00",
             LineItems=[{"Description": "Colorbond panel 3000 x 1200", "ItemCode": "PNL-3000", "Quantity": "8",
                         "UnitAmount": "164.00", "AccountCode": "200", "TaxType": "OUTPUT"},
                        {"Description": "Flashing 90 degree", "ItemCode": "FLS-90", "Quantity": "40",
                         "UnitAmount": "12.80", "AccountCode": "200", "TaxType": "OUTPUT", "DiscountRate": "5"}]),
        dict(Type="ACCREC", InvoiceNumber="INV-0483", Contact={"Name": "Northern Rail Maintenance"}, Status="AUTHORISED",
             Date_days=-60, Due_days=-30, Reference="Duct repairs depot 3", payment="full",
             LineItems=[{"Description": "Galvanised duct 300 mm", "ItemCode": "DCT-300", "Quantity": "18.5",
                         "UnitAmount": "36.40", "AccountCode": "200", "TaxType": "OUTPUT"}]),
        dict(Type="ACCREC", InvoiceNumber="INV-0484", Contact={"Name": "Precision Laser Cutting"}, Status="DRAFT",
             Date_days=-2, Due_days=28, Reference="Brackets",
             LineItems=[{"Description": "Fabrication labour", "ItemCode": "FAB-HR", "Quantity": "2.5",
                         "UnitAmount": "95.00", "AccountCode": "200", "TaxType": "OUTPUT"}]),
        dict(Type="ACCPAY", Contact={"Name": "BlueScope Distribution"}, Status="AUTHORISED", InvoiceNumber="BSD-88213",
             Date_days=-12, Due_days=18, Reference="Coil order 2211",
             LineItems=[{"Description": "Galvanised sheet 2400 x 1200 x 1.2 mm", "ItemCode": "GAL-SHT",
                         "Quantity": "30", "UnitAmount": "58.00", "AccountCode": "300", "TaxType": "INPUT"}]),
        dict(Type="ACCPAY", Contact={"Name": "Precision Laser Cutting"}, Status="AUTHORISED", InvoiceNumber="PLC-1042",
             Date_days=-8, Due_days=22, Reference="Outsourced cutting",
             LineItems=[{"Description": "Laser cutting services", "Quantity": "1", "UnitAmount": "840.00",
                         "AccountCode": "310", "TaxType": "INPUT"}]),
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
    docs = []
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
        doc = contact_doc(tenant, row, updated_ms + i)
        doc["ContactID"] = sid(tenant, "bulk", n)
        docs.append(doc)
    return docs
