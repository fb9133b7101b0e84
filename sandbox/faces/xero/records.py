"""The books' records in Xero's shapes (pure: no store, no HTTP).

Each `<record>(...)` gives the Xero JSON of a package-neutral record of the books
(sandbox/ledger/), with change times still in epoch milliseconds and days as
"YYYY-MM-DD" so that `where` can compare them; `*_out` finishes one for the wire (MS-JSON
dates, as Xero's spec marks them x-is-msdate, with DateString/DueDateString beside).
`contact_changes` and `line_changes` read Xero's JSON into the books' fields."""
from __future__ import annotations

from decimal import Decimal

from ...core.util import ms_date, ms_from_day

INVOICE_TYPES = {"ACCREC": "sale", "ACCPAY": "purchase"}
CREDIT_TYPES = {"ACCRECCREDIT": "sale_credit", "ACCPAYCREDIT": "purchase_credit"}
TYPE_OF = {kind: xero for xero, kind in (*INVOICE_TYPES.items(), *CREDIT_TYPES.items())}
LINE_AMOUNT_TYPES = {"exclusive": "Exclusive", "inclusive": "Inclusive", "notax": "NoTax"}
STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
ADDRESS_TYPES = {"POBOX": "postal", "STREET": "street"}
PHONE_TYPES = {"DEFAULT": "default", "DDI": "direct", "MOBILE": "mobile", "FAX": "fax", "OFFICE": "office"}
ACCOUNT_TYPES = {"bank": ("BANK", "ASSET"), "revenue": ("REVENUE", "REVENUE"),
                 "cost_of_sales": ("DIRECTCOSTS", "EXPENSE"), "expense": ("EXPENSE", "EXPENSE"),
                 "depreciation": ("DEPRECIATN", "EXPENSE"), "current_asset": ("CURRENT", "ASSET"),
                 "inventory": ("INVENTORY", "ASSET"), "fixed_asset": ("FIXED", "ASSET"),
                 "current_liability": ("CURRLIAB", "LIABILITY"), "long_term_liability": ("TERMLIAB", "LIABILITY"),
                 "equity": ("EQUITY", "EQUITY")}
# the contact's plain fields: Xero's name, the books' name
CONTACT_FIELDS = (("Name", "name"), ("FirstName", "first_name"), ("LastName", "last_name"),
                  ("EmailAddress", "email"), ("ContactNumber", "number"), ("AccountNumber", "account_number"),
                  ("CompanyNumber", "company_number"), ("TaxNumber", "tax_number"), ("Website", "website"),
                  ("BankAccountDetails", "bank_account"), ("DefaultCurrency", "currency"))
CONTACT_DEFAULTS = (("AccountsReceivableTaxType", "sales_tax"), ("AccountsPayableTaxType", "purchase_tax"),
                    ("SalesDefaultAccountCode", "sales_account"), ("PurchasesDefaultAccountCode", "purchase_account"))
ADDRESS_FIELDS = (("City", "city"), ("Region", "region"), ("PostalCode", "postcode"), ("Country", "country"),
                  ("AttentionTo", "attention"))


def _kind_of(mapping: dict, kind: str) -> str:
    return next(xero for xero, neutral in mapping.items() if neutral == kind)


# --- contacts -------------------------------------------------------------------------

def address(given: dict) -> dict:
    out = {"AddressType": _kind_of(ADDRESS_TYPES, given["kind"])}
    for n, line in enumerate(given.get("lines") or [], 1):
        if line:
            out[f"AddressLine{n}"] = line
    out.update({xero: given[field] for xero, field in ADDRESS_FIELDS if given.get(field)})
    return out


def phone(given: dict) -> dict:
    return {"PhoneType": _kind_of(PHONE_TYPES, given["kind"]), "PhoneNumber": given.get("number") or "",
            "PhoneAreaCode": given.get("area") or "", "PhoneCountryCode": given.get("country") or ""}


def contact(record: dict) -> dict:
    doc = {"ContactID": record["id"], "ContactStatus": record["status"].upper(), "Name": record["name"],
           "EmailAddress": record.get("email") or "", "BankAccountDetails": record.get("bank_account") or "",
           "TaxNumber": record.get("tax_number") or "",
           "Addresses": [address(a) for a in record.get("addresses") or ()],
           "Phones": [phone(p) for p in record.get("phones") or ()],
           "IsSupplier": bool(record.get("is_supplier")), "IsCustomer": bool(record.get("is_customer")),
           "ContactPersons": [{"FirstName": p.get("first_name") or "", "LastName": p.get("last_name") or "",
                               "EmailAddress": p.get("email") or "",
                               "IncludeInEmails": bool(p.get("include_in_emails"))}
                              for p in record.get("people") or ()],
           "ContactGroups": list(record.get("groups") or ()), "HasAttachments": False, "HasValidationErrors": False,
           "UpdatedDateUTC": record["updated_ms"]}
    for xero, field in CONTACT_FIELDS:
        if record.get(field) and xero not in doc:
            doc[xero] = record[field]
    for xero, field in CONTACT_DEFAULTS:
        if (record.get("defaults") or {}).get(field):
            doc[xero] = record["defaults"][field]
    return doc


def contact_out(doc: dict) -> dict:
    return dict(doc, UpdatedDateUTC=ms_date(doc["UpdatedDateUTC"]))


def contact_changes(data: dict, existing: dict | None) -> dict:
    """The books' fields a Xero contact body sets (its addresses and phones replace those of
    the same type; its ContactPersons replace them all). The body is already checked."""
    changes = {field: data[xero] for xero, field in CONTACT_FIELDS if data.get(xero) is not None}
    if data.get("ContactStatus") is not None:
        changes["status"] = str(data["ContactStatus"]).lower()
    defaults = {field: data[xero] for xero, field in CONTACT_DEFAULTS if data.get(xero) is not None}
    if defaults:
        changes["defaults"] = {**((existing or {}).get("defaults") or {}), **defaults}
    if data.get("Addresses") is not None:
        by_kind = {a["kind"]: a for a in (existing or {}).get("addresses") or ()}
        for given in data["Addresses"]:
            kind = ADDRESS_TYPES[given["AddressType"]]
            by_kind[kind] = {"kind": kind, "lines": [given.get(f"AddressLine{n}") or "" for n in range(1, 5)
                                                     if given.get(f"AddressLine{n}")],
                             **{field: given.get(xero) or "" for xero, field in ADDRESS_FIELDS}}
        changes["addresses"] = [by_kind[k] for k in ("postal", "street") if k in by_kind]
    if data.get("Phones") is not None:
        by_kind = {p["kind"]: p for p in (existing or {}).get("phones") or ()}
        for given in data["Phones"]:
            kind = PHONE_TYPES[given["PhoneType"]]
            by_kind[kind] = {"kind": kind, "number": given.get("PhoneNumber") or "",
                             "area": given.get("PhoneAreaCode") or "", "country": given.get("PhoneCountryCode") or ""}
        changes["phones"] = list(by_kind.values())
    if data.get("ContactPersons") is not None:
        changes["people"] = [{"first_name": p.get("FirstName") or "", "last_name": p.get("LastName") or "",
                              "email": p.get("EmailAddress") or "", "include_in_emails": bool(p.get("IncludeInEmails"))}
                             for p in data["ContactPersons"]]
    return changes


# --- reference lists ----------------------------------------------------------------------

def item(record: dict) -> dict:
    doc = {"ItemID": record["id"], "Code": record["code"], "Name": record.get("name") or "",
           "Description": record.get("description") or "", "IsSold": record.get("sold") is not None,
           "IsPurchased": record.get("bought") is not None, "IsTrackedAsInventory": bool(record.get("tracked")),
           "UpdatedDateUTC": record["updated_ms"]}
    for side, part in (("sold", "SalesDetails"), ("bought", "PurchaseDetails")):
        booking = record.get(side)
        doc[part] = {"UnitPrice": booking["price"], "AccountCode": booking["account_code"],
                     "TaxType": booking["tax_code"]} if booking else {}
    if record.get("purchase_description"):
        doc["PurchaseDescription"] = record["purchase_description"]
    return doc


def account(record: dict) -> dict:
    kind, klass = ACCOUNT_TYPES[record["type"]]
    doc = {"AccountID": record["id"], "Code": record["code"], "Name": record["name"],
           "Status": record.get("status", "active").upper(), "Type": kind, "TaxType": record.get("tax_code") or "",
           "Class": klass, "EnablePaymentsToAccount": bool(record.get("payments_enabled")),
           "ShowInExpenseClaims": kind == "EXPENSE", "BankAccountNumber": record.get("bank_number") or "",
           "CurrencyCode": record.get("currency") or "AUD", "ReportingCode": "", "ReportingCodeName": "",
           "HasAttachments": False, "AddToWatchlist": False, "UpdatedDateUTC": record["updated_ms"]}
    if kind == "BANK":
        doc["BankAccountType"] = "BANK"
    if record.get("system"):
        doc["SystemAccount"] = record["system"].upper()
    return doc


def tax_rate(record: dict) -> dict:
    rate = Decimal(str(record["rate"]))
    applies = set(record.get("applies_to") or ())
    return {"Name": record["name"], "TaxType": record["code"], "ReportTaxType": record.get("report_code") or "",
            "Status": record.get("status", "active").upper(),
            "TaxComponents": [{"Name": "GST", "Rate": rate, "IsCompound": False, "IsNonRecoverable": False}],
            "CanApplyToAssets": "assets" in applies, "CanApplyToEquity": "equity" in applies,
            "CanApplyToExpenses": "expenses" in applies, "CanApplyToLiabilities": "liabilities" in applies,
            "CanApplyToRevenue": "revenue" in applies, "DisplayTaxRate": rate, "EffectiveRate": rate}


def organisation(record: dict) -> dict:
    year_end = record.get("financial_year_end") or {}
    street = record.get("address") or {}
    return {
        "OrganisationID": record["id"], "APIKey": "", "Name": record["name"], "LegalName": record["legal_name"],
        "PaysTax": bool(record.get("pays_tax")), "Version": record.get("country") or "AU",
        "OrganisationType": "COMPANY", "BaseCurrency": record.get("currency") or "AUD",
        "CountryCode": record.get("country") or "AU", "IsDemoCompany": False, "OrganisationStatus": "ACTIVE",
        "RegistrationNumber": record.get("tax_number") or "", "TaxNumber": record.get("tax_number") or "",
        "FinancialYearEndDay": year_end.get("day", 30), "FinancialYearEndMonth": year_end.get("month", 6),
        "SalesTaxBasis": "ACCRUAL", "SalesTaxPeriod": "QUARTERLY1",
        "DefaultSalesTax": "Tax Exclusive", "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": ms_date(record["created_ms"]), "OrganisationEntityType": "COMPANY",
        "Timezone": "AUSEASTERNSTANDARDTIME", "ShortCode": record.get("short_code") or "", "Edition": "BUSINESS",
        "Class": "STANDARD", "LineOfBusiness": record.get("line_of_business") or "",
        "Addresses": [address(street)] if street else [], "Phones": [], "ExternalLinks": [], "PaymentTerms": {},
    }


# --- invoices and payments ------------------------------------------------------------------

def line(given: dict) -> dict:
    out = {"LineItemID": given["id"], "Description": given.get("description") or "", "Quantity": given["quantity"],
           "UnitAmount": given["unit_price"], "TaxType": given.get("tax_code") or "",
           "TaxAmount": given["tax_amount"], "LineAmount": given["line_amount"], "Tracking": []}
    if given.get("account_code"):
        out["AccountCode"] = given["account_code"]
        if given.get("account_id"):
            out["AccountID"] = given["account_id"]
    if given.get("item_code"):
        out["ItemCode"] = given["item_code"]
        out["Item"] = {"ItemID": given["item_id"], "Code": given["item_code"], "Name": given.get("item_name") or ""}
    if given.get("discount_rate"):
        out["DiscountRate"] = given["discount_rate"]
    return out


def line_changes(given) -> dict:
    """A Xero line item as the books' line (anything but an object goes on as it is: the
    books refuse it)."""
    if not isinstance(given, dict):
        return given
    return {"id": given.get("LineItemID"), "description": given.get("Description"), "quantity": given.get("Quantity"),
            "unit_price": given.get("UnitAmount"), "item_code": given.get("ItemCode"),
            "account_code": given.get("AccountCode"), "tax_code": given.get("TaxType"),
            "discount_rate": given.get("DiscountRate"), "line_amount": given.get("LineAmount")}


def contact_summary(record: dict | None) -> dict:
    if record is None:
        return {"ContactID": "", "Name": ""}
    return {"ContactID": record["id"], "Name": record["name"], "ContactStatus": record["status"].upper()}


def invoice(record: dict, contact_record: dict | None) -> dict:
    doc = {"Type": TYPE_OF[record["kind"]], "InvoiceID": record["id"], "InvoiceNumber": record.get("number") or "",
           "Reference": record.get("reference") or "",
           "Payments": [{"PaymentID": p["id"], "Date": p["date"], "Amount": p["amount"], "Reference": p["reference"],
                         "CurrencyRate": Decimal("1"), "HasAccount": True, "HasValidationErrors": False}
                        for p in record.get("payments") or ()],
           "CreditNotes": [{"CreditNoteID": c["credit_id"], "CreditNoteNumber": c.get("number") or "",
                            "AppliedAmount": c["amount"], "Date": c["date"]} for c in record.get("credits") or ()],
           "Prepayments": [], "Overpayments": [], "AmountPaid": record["paid"],
           "AmountCredited": record.get("credited") or Decimal("0.00"), "CurrencyCode": record.get("currency") or "AUD",
           "CurrencyRate": record.get("currency_rate") or Decimal("1"), "HasAttachments": False, "HasErrors": False,
           "SentToContact": bool(record.get("sent")), "IsDiscounted": record["discount"] > 0,
           "Contact": contact_summary(contact_record), "Date": record["date"], "Status": record["status"].upper(),
           "LineAmountTypes": LINE_AMOUNT_TYPES[record["amounts"]], "LineItems": [line(x) for x in record["lines"]],
           "SubTotal": record["subtotal"], "TotalTax": record["tax"], "Total": record["total"],
           "TotalDiscount": record["discount"], "AmountDue": record["due"], "UpdatedDateUTC": record["updated_ms"]}
    for xero, field in (("DueDate", "due_date"), ("FullyPaidOnDate", "fully_paid_on"), ("Url", "url"),
                        ("BrandingThemeID", "branding_theme_id"), ("ExpectedPaymentDate", "expected_payment")):
        if record.get(field):
            doc[xero] = record[field]
    return doc


def invoice_out(doc: dict, lines: bool = True) -> dict:
    out = dict(doc)
    for field in ("Date", "DueDate", "FullyPaidOnDate"):
        if doc.get(field):
            out[field] = ms_date(ms_from_day(doc[field]))
            if field != "FullyPaidOnDate":
                out[field + "String"] = doc[field] + "T00:00:00"
        else:
            out.pop(field, None)
    out["UpdatedDateUTC"] = ms_date(doc["UpdatedDateUTC"])
    for part in ("Payments", "CreditNotes", "Allocations"):
        if part in doc:
            out[part] = [dict(p, Date=ms_date(ms_from_day(p["Date"]))) for p in doc[part]]
    if not lines:
        out.pop("LineItems", None)
    return out


def credit_note(record: dict, contact_record: dict | None) -> dict:
    """A credit note (the books' sale_credit / purchase_credit) as Xero's CreditNote."""
    doc = {"Type": TYPE_OF[record["kind"]], "CreditNoteID": record["id"], "CreditNoteNumber": record.get("number") or "",
           "Reference": record.get("reference") or "", "Contact": contact_summary(contact_record),
           "Date": record["date"], "Status": record["status"].upper(),
           "LineAmountTypes": LINE_AMOUNT_TYPES[record["amounts"]], "LineItems": [line(x) for x in record["lines"]],
           "SubTotal": record["subtotal"], "TotalTax": record["tax"], "Total": record["total"],
           "CurrencyCode": record.get("currency") or "AUD", "CurrencyRate": record.get("currency_rate") or Decimal("1"),
           "RemainingCredit": record.get("remaining", record["total"]), "SentToContact": bool(record.get("sent")),
           "Allocations": [{"AllocationID": a["id"], "Amount": a["amount"], "Date": a["date"],
                            "Invoice": {"InvoiceID": a["document_id"]}} for a in record.get("allocations") or ()],
           "Payments": [], "HasAttachments": False, "HasErrors": False, "UpdatedDateUTC": record["updated_ms"]}
    if record.get("due_date"):
        doc["DueDate"] = record["due_date"]
    if record.get("fully_paid_on"):
        doc["FullyPaidOnDate"] = record["fully_paid_on"]
    return doc


def payment(record: dict, document: dict | None, contact_record: dict | None) -> dict:
    kind = (document or {}).get("kind", "sale")
    return {"PaymentID": record["id"], "Date": record["date"], "Amount": record["amount"],
            "BankAmount": record["amount"], "Reference": record.get("reference") or "", "CurrencyRate": Decimal("1"),
            "IsReconciled": bool(record.get("reconciled")),
            "Status": "DELETED" if record.get("status") == "deleted" else "AUTHORISED",
            "HasAccount": True, "HasValidationErrors": False,
            "PaymentType": "ACCRECPAYMENT" if kind == "sale" else "ACCPAYPAYMENT",
            "Account": {"AccountID": record["account_id"], "Code": record["account_code"]},
            "Invoice": {"InvoiceID": record["document_id"], "InvoiceNumber": (document or {}).get("number") or "",
                        "Type": TYPE_OF[kind], "Contact": contact_summary(contact_record)},
            "UpdatedDateUTC": record["updated_ms"]}


def payment_out(doc: dict) -> dict:
    return dict(doc, Date=ms_date(ms_from_day(doc["Date"])), UpdatedDateUTC=ms_date(doc["UpdatedDateUTC"]))
