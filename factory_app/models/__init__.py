from .accounting import (
    ACTIVE, DISCONNECTED, NEEDS_RECONNECT, AccountingConnection, DocumentPush, ExternalLink,
    PendingAuthorisation,
)
from .documents import (
    ORDER_STATUSES, PURCHASE_STATUSES, Invoice, InvoiceLine, PurchaseOrder,
    PurchaseOrderLine, SalesOrder, SalesOrderLine,
)
from .org import ROLE_ADMIN, ROLE_STAFF, ROLES, Organisation, User
from .parties import ADDRESS_KINDS, Address, ContactPerson, Customer, Party, Supplier
from .products import Product
from .submissions import FormSubmission
from .sync import ImportReview, RemoteRecord, SyncFailure, SyncRun

__all__ = [
    "ACTIVE", "DISCONNECTED", "NEEDS_RECONNECT", "AccountingConnection", "ExternalLink",
    "PendingAuthorisation", "DocumentPush", "ImportReview", "RemoteRecord", "SyncFailure", "SyncRun",
    "ADDRESS_KINDS", "ORDER_STATUSES", "PURCHASE_STATUSES", "ROLES", "ROLE_ADMIN", "ROLE_STAFF",
    "Address", "ContactPerson", "Customer", "FormSubmission", "Invoice", "InvoiceLine", "Organisation", "Party",
    "Product", "PurchaseOrder", "PurchaseOrderLine", "SalesOrder", "SalesOrderLine", "Supplier",
    "User",
]
