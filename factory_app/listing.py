"""Lists at real size: one page of rows, the total, page numbers, search, filters and a
sort, all from the URL (shareable; the back button works; htmx swaps the rows and pushes
the URL). A blueprint describes its list (sorts, filters) and gets a Listing back; the
rows' relations are its to eager-load, so a page costs the same few queries whatever
its size.

A page is found by its ids first (an index walk of ids only), then its rows are read;
past the middle of a list it is read from the other end and turned round, so no page
walks more than half the list.

A search narrows a list to the few rows an index finds at once (a trigram index: the
customers called "Valley ..."), while walking the sort's index finds them only as it
reaches them: 9,000 customers filtered one by one before the first "Valley" (21 ms). So
a search of at most FOUND_FIRST rows (the count is known before the rows are read) is
found first and sorted after (4 ms); a larger one is common enough that the walk meets
fifty of them early.

`?page=` beyond the last page shows the last one; an unknown sort or filter value is
ignored, never an error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import request, url_for
from sqlalchemy import Select, func, or_, select, union_all
from sqlalchemy.orm import with_expression

from . import counts
from .extensions import db
from .web import org_id

PER_PAGE = 50
MAX_PAGE = 100_000
FOUND_FIRST = 2_000
TRIGRAM = 3  # the shortest search a trigram index can serve (a shorter one reads every row either way)


@dataclass
class Listing:
    endpoint: str
    rows: list
    total: int
    page: int
    per_page: int
    sort: str
    args: dict[str, str]  # the list's own query arguments, as given (search, filters, sort)
    view_args: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_row(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_row(self) -> int:
        return min(self.total, self.page * self.per_page)

    def url(self, **changes) -> str:
        """This list's URL with some arguments changed (None drops one); any change but
        the page's goes back to page 1."""
        args = {**self.args, **({"page": str(self.page)} if self.page > 1 else {})}
        if "page" not in changes:
            args.pop("page", None)
        for key, value in changes.items():
            if value is None or value == "" or (key == "page" and value == 1):
                args.pop(key, None)
            else:
                args[key] = str(value)
        return url_for(self.endpoint, **self.view_args, **args)

    def page_numbers(self, around: int = 2) -> list[int | None]:
        """1 … 4 5 [6] 7 8 … 40: None marks a gap."""
        wanted = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        numbers, last = [], 0
        for n in sorted(n for n in wanted if 1 <= n <= self.pages):
            if n > last + 1:
                numbers.append(None)
            numbers.append(n)
            last = n
        return numbers

    def sort_url(self, key: str) -> str:
        """Sorting by a column: ascending first, descending on a second click."""
        return self.url(sort=f"-{key}" if self.sort == key else key)

    def sorted_by(self, key: str) -> str | None:
        """"ascending" / "descending" when this column sorts the list (aria-sort)."""
        if self.sort == key:
            return "ascending"
        if self.sort == f"-{key}":
            return "descending"
        return None


def arg(name: str, limit: int = 100) -> str:
    return (request.args.get(name) or "").strip()[:limit]


def date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(arg(name, 10))
    except ValueError:
        return None


def page_arg() -> int:
    text = arg("page", 8)
    return min(int(text), MAX_PAGE) if text.isdigit() and int(text) > 0 else 1


def paginate(endpoint: str, query: Select, sorts: dict[str, "Sort"], default_sort: str, args: dict[str, str],
             per_page: int = PER_PAGE, options: tuple = (), searched: bool = False, **view_args) -> Listing:
    """One page of `query` (already narrowed by its search and filters), sorted by one of
    `sorts` (key -> a Sort, made by `by`; `-key` descends), with the total from one COUNT
    (remembered until the organisation's rows change). `args` are the search and filter
    values given (kept in the page's links); `options` are the loader options for what
    the rows show; `searched`: the query is narrowed by a search an index serves (see
    the module's notes)."""
    sort = arg("sort", 30)
    if sort.lstrip("-") not in sorts:
        sort = default_sort
    total = counts.count(org_id(), select(func.count()).select_from(query.order_by(None).subquery()))
    page = min(page_arg(), max(1, -(-total // per_page)))
    key, descending, offset = sort.lstrip("-"), sort.startswith("-"), (page - 1) * per_page
    order, found_first = sorts[key], searched and total <= FOUND_FIRST
    if offset <= total // 2:
        rows = _rows(query, order, descending, per_page, offset, options, found_first)
    else:  # nearer the end: walk in from the other end (page 999 of 1000 is page 2 the other way round)
        last = min(offset + per_page, total)
        rows = _rows(query, order, not descending, last - offset, total - last, options, found_first)[::-1]
    kept = {k: v for k, v in args.items() if v}
    if sort != default_sort:
        kept["sort"] = sort
    return Listing(endpoint=endpoint, rows=list(rows), total=total, page=page, per_page=per_page, sort=sort,
                   args=kept, view_args=view_args)


def _rows(query: Select, order: "Sort", descending: bool, limit: int, offset: int, options: tuple,
          found_first: bool) -> list:
    """The rows of one page, found by their ids first: the inner query walks the index
    past `offset` entries reading ids only, and the rows (with whatever the loader
    options join to them) are read for this page alone, rather than joining every row
    it skips. `found_first`: the ids are those of every matching row, found (with their
    sort keys) before they are sorted, and the walk is over those alone."""
    entity = query.column_descriptions[0]["entity"]
    if found_first:
        keys = [column.label(f"key{n}") for n, column in enumerate(order.columns)]
        found = (query.with_only_columns(entity.id.label("row_id"), *keys).order_by(None)
                 .cte("found").prefix_with("MATERIALIZED", dialect="postgresql"))
        ids = (select(found.c.row_id.label("id")).order_by(*order.clauses(descending, [found.c[k.name] for k in keys]))
               .limit(limit).offset(offset).subquery())
    else:
        ids = query.with_only_columns(entity.id).order_by(*order(descending)).limit(limit).offset(offset).subquery()
    page = select(entity).where(entity.id.in_(select(ids.c.id))).order_by(*order(descending)).options(*options)
    return list(db.session.scalars(page).unique().all())


@dataclass(frozen=True)
class Sort:
    """A list's sort: its columns, the first deciding and the rest breaking ties, all in
    the same direction."""
    columns: tuple

    def __call__(self, descending: bool) -> tuple:
        return self.clauses(descending, self.columns)

    @staticmethod
    def clauses(descending: bool, columns) -> tuple:
        return tuple(c.desc() if descending else c.asc() for c in columns)


def beside(attribute, expression):
    """A loader option: `attribute` (a query_expression) read beside each row, as a
    subquery of `expression` in the row's own query (one value read per row: no other
    record loaded, where a joined load built one object per row for one name)."""
    return with_expression(attribute, expression.scalar_subquery())


def by(column, *tie_breakers) -> Sort:
    """A sort on a column (ties broken by the tie_breakers, in the same direction)."""
    return Sort((column, *tie_breakers))


def _literal(text: str) -> str:
    """`text` for a LIKE pattern, taken literally (a typed % or _ is that character)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(text: str, column):
    return column.ilike(f"%{_literal(text)}%", escape="\\")


def matching(text: str, *columns):
    """Rows where any of the columns contains `text`, taken literally. Columns of one
    table: PostgreSQL ORs their trigram indexes into one bitmap (measured: a picker's
    three-letter search 1.1 ms so, 2.6 ms as a union of ids, which document_matching
    needs only because one of its ways goes through another table)."""
    return or_(*(_contains(text, column) for column in columns))


def document_matching(text: str, model, party_model, party_column, organisation_id: int):
    """Documents whose number or reference contains `text`, or whose customer's (or
    supplier's) name does: the ids found each way, united. Each way can use its own
    index (a trigram index; the party's way the documents' index on their party); one
    OR across them, one of them a subquery, read every document of the organisation."""
    own = [select(model.id).where(model.organisation_id == organisation_id, _contains(text, column))
           for column in (model.number, model.reference)]
    by_party = (select(model.id).join(party_model, party_model.id == party_column)
                .where(party_model.organisation_id == organisation_id, _contains(text, party_model.name)))
    return model.id.in_(union_all(*own, by_party))


def starting(text: str, column):
    """True where the column starts with `text` (literally): sorts those matches first."""
    return column.ilike(f"{_literal(text)}%", escape="\\")


def within_dates(query: Select, column) -> Select:
    """The query narrowed to the list's ?from= and ?to= dates (inclusive); a date that
    doesn't parse is ignored."""
    if (start := date_arg("from")) is not None:
        query = query.where(column >= start)
    if (end := date_arg("to")) is not None:
        query = query.where(column <= end)
    return query
