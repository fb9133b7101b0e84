"""The books' records in QuickBooks Online's shapes (Finance.xsd / IntuitNamesTypes.xsd),
and QuickBooks' Customer and Vendor bodies read into the books' fields.

Ids are numeric strings, given per entity by the store's face_ids (a books contact that
is both a customer and a supplier is Customer N and Vendor M, as QuickBooks keeps them
apart); SyncToken is the record's version; times are ISO 8601 with the offset. A
Customer's BillAddr is the books' postal address and its ShipAddr the street (delivery)
address. Money goes out as JSON numbers (exact decimals)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

FACE = "quickbooks"
ACCOUNT_TYPES = {"bank": ("Bank", "Asset", "Checking"), "revenue": ("Income", "Revenue", "SalesOfProductIncome"),
                 "cost_of_sales": ("Cost of Goods Sold", "Expense", "SuppliesMaterialsCogs"),
                 "expense": ("Expense", "Expense", "OtherMiscellaneousServiceCost"),
                 "depreciation": ("Other Expense", "Expense", "Depreciation"),
                 "current_asset": ("Other Current Asset", "Asset", "OtherCurrentAssets"),
                 "inventory": ("Other Current Asset", "Asset", "Inventory"),
                 "fixed_asset": ("Fixed Asset", "Asset", "MachineryAndEquipment"),
                 "current_liability": ("Other Current Liability", "Liability", "OtherCurrentLiabilities"),
                 "long_term_liability": ("Long Term Liability", "Liability", "OtherLongTermLiabilities"),
                 "equity": ("Equity", "Equity", "OwnersEquity")}
ENTITY_KINDS = {"Customer": "customer", "Vendor": "vendor", "Item": "item", "Account": "account",
                "TaxCode": "taxcode", "TaxRate": "taxrate", "Invoice": "invoice", "Bill": "bill"}


def stamp(ms: int | float | None = None) -> str:
    """Intuit's time: 2026-12-03T05:10:00.000+00:00 (the moment, or now)."""
    moment = datetime.fromtimestamp((ms / 1000) if ms is not None else datetime.now(timezone.utc).timestamp(),
                                    tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


def number(store, tenant: str, kind: str, record_id: str) -> str:
    return str(store.face_number(FACE, tenant, kind, record_id))


def _meta(record: dict) -> dict:
    moment = stamp(record.get("updated_ms") or 0)
    return {"CreateTime": stamp(record.get("created_ms") or record.get("updated_ms") or 0), "LastUpdatedTime": moment}


def _address(given: dict | None) -> dict | None:
    if not given or not (given.get("lines") or given.get("city")):
        return None
    out: dict = {}
    for n, line in enumerate(given.get("lines") or [], 1):
        if line:
            out[f"Line{n}"] = line
    for qbo, field in (("City", "city"), ("CountrySubDivisionCode", "region"), ("PostalCode", "postcode"),
                       ("Country", "country")):
        if given.get(field):
            out[qbo] = given[field]
    return out


def _phone(record: dict, kind: str) -> dict | None:
    found = next((p for p in record.get("phones") or () if p.get("kind") == kind and p.get("number")), None)
    if found is None:
        return None
    return {"FreeFormNumber": " ".join(x for x in (found.get("area"), found.get("number")) if x)}


def contact(store, tenant: str, record: dict, entity: str) -> dict:
    """A books contact as a Customer or a Vendor."""
    kind = ENTITY_KINDS[entity]
    doc = {"Id": number(store, tenant, kind, record["id"]), "SyncToken": str(record.get("version", 0)),
           "DisplayName": record["name"], "PrintOnCheckName": record["name"], "CompanyName": record["name"],
           "Active": record.get("status") != "archived", "Balance": 0, "domain": "QBO", "sparse": False,
           "CurrencyRef": {"value": record.get("currency") or "AUD", "name": "Australian Dollar"},
           "MetaData": _meta(record)}
    if record.get("first_name"):
        doc["GivenName"] = record["first_name"]
    if record.get("last_name"):
        doc["FamilyName"] = record["last_name"]
    if record.get("email"):
        doc["PrimaryEmailAddr"] = {"Address": record["email"]}
    if record.get("website"):
        doc["WebAddr"] = {"URI": record["website"]}
    for qbo, phone_kind in (("PrimaryPhone", "default"), ("Mobile", "mobile"), ("Fax", "fax")):
        phone = _phone(record, phone_kind)
        if phone:
            doc[qbo] = phone
    addresses = {a.get("kind"): a for a in record.get("addresses") or ()}
    for qbo, address_kind in (("BillAddr", "postal"), ("ShipAddr", "street")):
        address = _address(addresses.get(address_kind))
        if address and not (entity == "Vendor" and qbo == "ShipAddr"):
            doc[qbo] = address
    if entity == "Customer":
        doc.update({"FullyQualifiedName": record["name"], "Job": False, "BillWithParent": False, "Taxable": True,
                    "BalanceWithJobs": 0, "PreferredDeliveryMethod": "Email" if record.get("email") else "Print"})
    else:
        doc["Vendor1099"] = False
        if record.get("account_number"):
            doc["AcctNum"] = record["account_number"]
    if record.get("tax_number"):
        doc["BusinessNumber"] = record["tax_number"]  # the ABN of an Australian company's contact
    return doc


def contact_changes(body: dict, entity: str, existing: dict | None) -> dict:
    """The books' fields a Customer or Vendor body sets (a sparse update sets only those
    it carries; a full one leaves the rest as they are, since the books keep more than
    QuickBooks shows)."""
    changes: dict = {}
    name = body.get("DisplayName") or " ".join(
        x for x in (body.get("GivenName"), body.get("FamilyName")) if isinstance(x, str) and x) \
        or body.get("CompanyName")
    if name:
        changes["name"] = name
    for qbo, field in (("GivenName", "first_name"), ("FamilyName", "last_name"), ("BusinessNumber", "tax_number"),
                       ("AcctNum", "account_number")):
        if isinstance(body.get(qbo), str):
            changes[field] = body[qbo]
    if isinstance(body.get("PrimaryEmailAddr"), dict):
        changes["email"] = body["PrimaryEmailAddr"].get("Address") or ""
    if isinstance(body.get("WebAddr"), dict):
        changes["website"] = body["WebAddr"].get("URI") or ""
    if body.get("Active") is not None:
        changes["status"] = "active" if body["Active"] in (True, "true") else "archived"
    phones = {p["kind"]: p for p in (existing or {}).get("phones") or ()}
    for qbo, kind in (("PrimaryPhone", "default"), ("Mobile", "mobile"), ("Fax", "fax")):
        if isinstance(body.get(qbo), dict):
            phones[kind] = {"kind": kind, "number": body[qbo].get("FreeFormNumber") or "", "area": "", "country": ""}
            changes["phones"] = list(phones.values())
    addresses = {a["kind"]: a for a in (existing or {}).get("addresses") or ()}
    for qbo, kind in (("BillAddr", "postal"), ("ShipAddr", "street")):
        given = body.get(qbo)
        if isinstance(given, dict):
            addresses[kind] = {"kind": kind, "lines": [given[f"Line{n}"] for n in range(1, 6)
                                                       if isinstance(given.get(f"Line{n}"), str) and given[f"Line{n}"]],
                               "city": given.get("City") or "", "region": given.get("CountrySubDivisionCode") or "",
                               "postcode": given.get("PostalCode") or "", "country": given.get("Country") or "",
                               "attention": ""}
            changes["addresses"] = [addresses[k] for k in ("postal", "street") if k in addresses]
    changes["is_customer" if entity == "Customer" else "is_supplier"] = True
    return changes


def _ref(value: str | None, name: str | None = None) -> dict | None:
    if value is None:
        return None
    return {"value": value, "name": name} if name else {"value": value}


def item(store, tenant: str, record: dict, accounts: dict, tax_codes: dict) -> dict:
    sold, bought = record.get("sold"), record.get("bought")
    doc = {"Id": number(store, tenant, "item", record["id"]), "SyncToken": str(record.get("version", 0)),
           "Name": record.get("name") or record["code"], "Sku": record["code"],
           "FullyQualifiedName": record.get("name") or record["code"], "Description": record.get("description") or "",
           "Active": record.get("status", "active") != "archived",
           "Type": "Inventory" if record.get("tracked") else "NonInventory", "TrackQtyOnHand": bool(record.get("tracked")),
           "Taxable": True, "domain": "QBO", "sparse": False, "MetaData": _meta(record)}
    if sold:
        account = accounts.get(sold.get("account_code"))
        doc["UnitPrice"] = sold["price"]
        doc["IncomeAccountRef"] = _ref(number(store, tenant, "account", account["id"]), account["name"]) \
            if account else None
        code = tax_codes.get(sold.get("tax_code"))
        if code:
            doc["SalesTaxCodeRef"] = _ref(number(store, tenant, "taxcode", code["id"]), code["name"])
    if bought:
        account = accounts.get(bought.get("account_code"))
        doc["PurchaseCost"] = bought["price"]
        doc["PurchaseDesc"] = record.get("purchase_description") or record.get("description") or ""
        doc["ExpenseAccountRef"] = _ref(number(store, tenant, "account", account["id"]), account["name"]) \
            if account else None
        code = tax_codes.get(bought.get("tax_code"))
        if code:
            doc["PurchaseTaxCodeRef"] = _ref(number(store, tenant, "taxcode", code["id"]), code["name"])
    return {k: v for k, v in doc.items() if v is not None}


def account(store, tenant: str, record: dict, tax_codes: dict) -> dict:
    kind, classification, sub = ACCOUNT_TYPES[record["type"]]
    doc = {"Id": number(store, tenant, "account", record["id"]), "SyncToken": str(record.get("version", 0)),
           "Name": record["name"], "AcctNum": record["code"], "FullyQualifiedName": record["name"],
           "AccountType": kind, "AccountSubType": sub, "Classification": classification, "SubAccount": False,
           "Active": record.get("status", "active") != "archived", "CurrentBalance": 0,
           "CurrentBalanceWithSubAccounts": 0, "CurrencyRef": {"value": record.get("currency") or "AUD"},
           "domain": "QBO", "sparse": False, "MetaData": _meta(record)}
    code = tax_codes.get(record.get("tax_code"))
    if code:
        doc["TaxCodeRef"] = {"value": number(store, tenant, "taxcode", code["id"])}
    return doc


def tax_rate(store, tenant: str, record: dict) -> dict:
    rate = Decimal(str(record["rate"]))
    return {"Id": number(store, tenant, "taxrate", record["id"]), "SyncToken": "0", "Name": record["name"],
            "Description": record["name"], "Active": record.get("status", "active") != "archived",
            "RateValue": rate, "AgencyRef": {"value": "1"}, "SpecialTaxType": "NONE", "DisplayType": "ReadOnly",
            "EffectiveTaxRate": [{"RateValue": rate, "EffectiveDate": "2000-07-01T00:00:00+00:00"}],
            "domain": "QBO", "sparse": False, "MetaData": _meta({"updated_ms": 946684800000})}


def tax_code(store, tenant: str, record: dict) -> dict:
    """A books tax code as a TaxCode with the rate lists of the sides it applies to."""
    applies = set(record.get("applies_to") or ())
    detail = {"TaxRateDetail": [{"TaxRateRef": {"value": number(store, tenant, "taxrate", record["id"]),
                                                "name": record["name"]},
                                 "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0}]}
    return {"Id": number(store, tenant, "taxcode", record["id"]), "SyncToken": "0", "Name": record["code"],
            "Description": record["name"], "Active": record.get("status", "active") != "archived",
            "Taxable": Decimal(str(record["rate"])) > 0, "TaxGroup": True, "Hidden": False,
            "SalesTaxRateList": detail if "revenue" in applies else {"TaxRateDetail": []},
            "PurchaseTaxRateList": detail if "expenses" in applies else {"TaxRateDetail": []},
            "domain": "QBO", "sparse": False, "MetaData": _meta({"updated_ms": 946684800000})}


def company(record: dict, realm: str) -> dict:
    street = record.get("address") or {}
    address = {"Line1": (street.get("lines") or [""])[0], "City": street.get("city") or "",
               "CountrySubDivisionCode": street.get("region") or "", "PostalCode": street.get("postcode") or "",
               "Country": record.get("country") or "AU"}
    return {"Id": "1", "SyncToken": "0", "CompanyName": record["name"], "LegalName": record["legal_name"],
            "CompanyAddr": address, "LegalAddr": address, "CustomerCommunicationAddr": address, "Country": "AU",
            "Email": {"Address": "accounts@" + "".join(ch for ch in record["name"].lower() if ch.isalnum())[:20]
                      + ".example"},
            "FiscalYearStartMonth": "July", "SupportedLanguages": "en", "DefaultTimeZone": "Australia/Sydney",
            "NameValue": [{"Name": "CompanyType", "Value": "Company"}, {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
                          {"Name": "IsQbdtMigrated", "Value": "false"}],
            "domain": "QBO", "sparse": False, "MetaData": {"CreateTime": stamp(record.get("created_ms") or 0)},
            "realmId": realm}


# --- invoices and bills ---------------------------------------------------------------------

TAX_CALCULATION = {"exclusive": "TaxExcluded", "inclusive": "TaxInclusive", "notax": "NotApplicable"}
DOCUMENTS = {"Invoice": ("sale", "invoice", "CustomerRef", "customer"),
             "Bill": ("purchase", "bill", "VendorRef", "vendor")}


def document(store, tenant: str, record: dict, contact_record: dict | None, lookups: dict, entity: str) -> dict:
    """A books sale as an Invoice, a purchase as a Bill: lines with their item or account
    and tax code, TxnTaxDetail, TotalAmt and Balance (what is still owed), LinkedTxn for
    the payments applied. A voided document shows zero amounts, as QuickBooks does."""
    _, kind, ref_field, contact_kind = DOCUMENTS[entity]
    accounts, codes = lookups["accounts"], lookups["tax_codes"]
    items = lookups["items"]
    voided = record["status"] == "voided"
    lines, rates = [], {}
    for n, given in enumerate(record["lines"], 1):
        code = codes.get(given.get("tax_code") or "")
        tax_ref = {"value": number(store, tenant, "taxcode", code["id"])} if code else None
        item = items.get((given.get("item_code") or "").lower())
        amount = Decimal(0) if voided else given["line_amount"]
        if entity == "Invoice" or item:
            detail = {"Qty": given["quantity"], "UnitPrice": given["unit_price"]}
            if item:
                detail["ItemRef"] = {"value": number(store, tenant, "item", item["id"]), "name": item["name"]}
            if tax_ref:
                detail["TaxCodeRef"] = tax_ref
            account = accounts.get(given.get("account_code") or "")
            if account and entity == "Invoice":
                detail["ItemAccountRef"] = {"value": number(store, tenant, "account", account["id"]),
                                            "name": account["name"]}
            if entity == "Bill":
                detail["BillableStatus"] = "NotBillable"
            kind_of_line = "SalesItemLineDetail" if entity == "Invoice" else "ItemBasedExpenseLineDetail"
        else:
            account = accounts.get(given.get("account_code") or "")
            detail = {"BillableStatus": "NotBillable"}
            if account:
                detail["AccountRef"] = {"value": number(store, tenant, "account", account["id"]), "name": account["name"]}
            if tax_ref:
                detail["TaxCodeRef"] = tax_ref
            kind_of_line = "AccountBasedExpenseLineDetail"
        lines.append({"Id": str(n), "LineNum": n, "Description": given.get("description") or "", "Amount": amount,
                      "DetailType": kind_of_line, kind_of_line: detail})
        if code and not voided:
            key = code["id"]
            net, tax = rates.get(key, (Decimal(0), Decimal(0)))
            rates[key] = (net + given["line_amount"], tax + given["tax_amount"])
    if entity == "Invoice":
        lines.append({"Amount": Decimal(0) if voided else record["subtotal"], "DetailType": "SubTotalLineDetail",
                      "SubTotalLineDetail": {}})
    tax_lines = [{"Amount": tax, "DetailType": "TaxLineDetail", "TaxLineDetail": {
        "TaxRateRef": {"value": number(store, tenant, "taxrate", code_id)}, "PercentBased": True,
        "TaxPercent": next(Decimal(str(c["rate"])) for c in codes.values() if c["id"] == code_id),
        "NetAmountTaxable": net}} for code_id, (net, tax) in rates.items()]
    paid_kind = "Payment" if entity == "Invoice" else "BillPaymentCheck"
    doc = {"Id": number(store, tenant, kind, record["id"]), "SyncToken": str(record.get("version", 0)),
           "DocNumber": record.get("number") or "", "TxnDate": record["date"], "Line": lines,
           ref_field: {"value": number(store, tenant, contact_kind, record["contact_id"]),
                       "name": (contact_record or {}).get("name", "")},
           "TxnTaxDetail": {"TotalTax": Decimal(0) if voided else record["tax"], "TaxLine": tax_lines},
           "GlobalTaxCalculation": TAX_CALCULATION[record["amounts"]],
           "TotalAmt": Decimal(0) if voided else record["total"], "Balance": record["due"],
           "CurrencyRef": {"value": record.get("currency") or "AUD", "name": "Australian Dollar"},
           "LinkedTxn": [{"TxnId": number(store, tenant, "payment", p["id"]), "TxnType": paid_kind}
                         for p in record.get("payments") or ()],
           "domain": "QBO", "sparse": False, "MetaData": _meta(record)}
    if record.get("due_date"):
        doc["DueDate"] = record["due_date"]
    note = "Voided" if voided else record.get("reference") or ""
    if note:
        doc["PrivateNote"] = note
    if entity == "Invoice":
        doc.update({"EmailStatus": "NotSet", "PrintStatus": "NotSet", "ApplyTaxAfterDiscount": False,
                    "Deposit": 0, "AllowOnlineCreditCardPayment": False, "AllowOnlineACHPayment": False})
        if (contact_record or {}).get("email"):
            doc["BillEmail"] = {"Address": contact_record["email"]}
    else:
        payable = next((a for a in accounts.values() if a.get("system") == "creditors"), None)
        if payable:
            doc["APAccountRef"] = {"value": number(store, tenant, "account", payable["id"]), "name": payable["name"]}
    return doc
