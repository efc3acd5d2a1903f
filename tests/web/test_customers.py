"""The customers pages through HTTP: the list page by page, one customer with its periods
and invoices, the edit form checked as the API checks it (errors next to the field, nothing
stored), the billing-day rule, the activity log naming the user, hostile names escaped and
unknown ids answered with a 404 page."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from earnest.errors import Invalid
from earnest.service.activity import CLI
from earnest.service.customers import Customers, UnknownCustomer
from earnest.store import Database
from earnest.web.customers import CUSTOMERS_PAGE
from tests.api.conftest import Clock
from tests.web.access_invoices import charge
from tests.web.conftest import ADMIN, VIEWER, Web, csrf_of

PLANTED = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def listed_ids(page: str) -> list[str]:
    return [
        html.unescape(found)
        for found in re.findall(r'<a href="/customers/[^"]*"><code>([^<]*)</code>', page)
    ]


def edit(web: Web, ident: str, **form: str) -> Any:
    page = web.get(f"/customers/{ident}")
    assert page.status_code == 200, page.text
    return web.post(f"/customers/{ident}", {"csrf_token": csrf_of(page), **form})


def test_the_list_pages_through_every_customer_by_id(web: Web) -> None:
    names = [f"c{n:03d}" for n in range(CUSTOMERS_PAGE + 3)]
    for name in reversed(names):
        web.app.customers.put(name, {"email": f"{name}@example.com"}, actor=CLI)
    web.session(VIEWER)
    first = web.get("/customers")
    assert first.status_code == 200
    assert listed_ids(first.text) == names[:CUSTOMERS_PAGE]
    assert "c000@example.com" in first.text
    assert "23 Nov 2026 – 30 Nov 2026" not in first.text  # periods start on the billing day
    assert "1 Nov 2026 – 30 Nov 2026" in first.text  # the open period, first to last day
    nxt = re.search(r'href="(/customers\?after=[^"]+)"', first.text)
    assert nxt is not None
    assert html.unescape(nxt.group(1)) == f"/customers?after={names[CUSTOMERS_PAGE - 1]}"
    second = web.get(html.unescape(nxt.group(1)))
    assert listed_ids(second.text) == names[CUSTOMERS_PAGE:]
    assert "More customers" not in second.text
    assert 'href="/customers">First customers' in second.text


def test_a_bad_page_position_is_refused_naming_it(web: Web) -> None:
    web.session(VIEWER)
    response = web.get("/customers?after=" + "x" * 300)
    assert response.status_code == 422
    assert "after is 1 to 255 characters" in response.text


def test_a_customer_shows_its_details_periods_invoices_and_links(web: Web) -> None:
    web.app.customers.put(
        "acme", {"name": "Acme Corp", "email": "ap@acme.example", "tax_id": "GB123"}, actor=CLI
    )
    charge(web.app, "INV-1", "acme")
    web.session(VIEWER)
    page = web.get("/customers/acme")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Customer Acme Corp" in text
    assert "ap@acme.example" in text
    assert "GB123" in text
    assert "1 Nov 2026 – 30 Nov 2026 open" in text
    assert "1 Dec 2026 – 31 Dec 2026 upcoming" in text
    [invoice] = web.app.invoices.list(customer="acme", limit=5).items
    assert f'href="/invoices/{invoice.id}"' in page.text
    assert "$0.99" in text
    assert 'href="/outcomes?customer=acme"' in page.text
    assert 'href="/customers/acme/portal-links"' in page.text
    assert 'href="/invoices?customer=acme"' in page.text
    assert "Only an admin can edit a customer." in text  # a viewer gets no form
    assert 'method="post"' not in page.text.split("</header>")[1]


def test_an_admin_edits_a_customer_as_itself(web: Web) -> None:
    web.app.customers.put("acme", {"name": "Acme"}, actor=CLI)
    web.session(ADMIN)
    response = edit(
        web, "acme", name="  Acme Corp ", email="billing@acme.example", billing_day="15",
        address="1 Road\r\nTown", tax_id="",
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == "/customers/acme?saved=1"
    found = web.app.customers.get("acme")
    assert (found.name, found.email, found.billing_day) == ("Acme Corp", "billing@acme.example", 15)
    assert (found.address, found.tax_id) == ("1 Road\nTown", None)
    entry = web.app.activity.list(limit=1).items[0]
    assert (entry.actor, entry.action, entry.subject) == (ADMIN, "customer.updated", "acme")
    assert entry.after is not None
    assert entry.after["billing_day"] == 15
    page = web.get("/customers/acme?saved=1")
    assert "Customer saved." in page.text
    # SPEC 6: the period in progress keeps its end; the next runs to the new day
    text = text_of(page.text)
    assert "1 Nov 2026 – 30 Nov 2026 open" in text
    assert "1 Dec 2026 – 14 Dec 2026 upcoming" in text


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"billing_day": "29"}, "billing_day", "whole number from 1 to 28"),
        ({"billing_day": "0"}, "billing_day", "whole number from 1 to 28"),
        ({"billing_day": "1.5"}, "billing_day", "whole number from 1 to 28"),
        ({"billing_day": ""}, "billing_day", "whole number from 1 to 28"),
        ({"billing_day": "٣"}, "billing_day", "whole number from 1 to 28"),
        ({"email": "not an email"}, "email", "is not an email address"),
        ({"email": "nobody"}, "email", "is not an email address"),
        ({"name": "x" * 256}, "name", "at most 255"),
        ({"address": "x" * 1001}, "address", "at most 1000"),
        ({"tax_id": "a\x00b"}, "tax_id", "U+0000"),
    ],
)
def test_a_refused_edit_shows_the_error_next_to_the_field_and_stores_nothing(
    web: Web, form: dict[str, str], field: str, message: str
) -> None:
    web.app.customers.put("acme", {"name": "Acme"}, actor=CLI)
    web.session(ADMIN)
    before = web.app.customers.get("acme")
    entries = web.app.activity.list(limit=1).items
    response = edit(web, "acme", **{"name": "Renamed", **form})
    assert response.status_code == 422
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', response.text)
    assert error is not None, response.text
    assert message in html.unescape(error.group(1))
    assert f'id="{field}"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert "Nothing was saved" in response.text
    if field != "name":
        assert 'value="Renamed"' in response.text  # what was typed is shown back
    assert web.app.customers.get("acme") == before
    assert web.app.activity.list(limit=1).items == entries


def test_unknown_customers_are_a_404_page(web: Web) -> None:
    web.session(ADMIN)
    for path in ("/customers/nobody", "/customers/" + "x" * 300, "/customers/a%00b"):
        response = web.get(path)
        assert response.status_code == 404, path
        assert "Not found" in response.text
    page = web.get("/customers")
    response = web.post("/customers/nobody", {"csrf_token": csrf_of(page), "name": "New"})
    assert response.status_code == 404
    with pytest.raises(Exception, match="nobody"):
        web.app.customers.get("nobody")  # an edit never creates a customer


def test_hostile_customer_values_are_shown_as_text(web: Web) -> None:
    web.app.customers.put(
        "evil", {"name": PLANTED, "email": "a@b.example", "address": PLANTED}, actor=CLI
    )
    charge(web.app, "INV-EVIL", "evil")
    web.session(ADMIN)
    for path in ("/customers", "/customers/evil", "/invoices"):
        page = web.get(path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text
        assert "<img src=x" not in page.text
    assert html.escape(PLANTED, quote=False) in web.get("/customers").text.replace("&#34;", '"')
    [invoice] = web.app.invoices.list(customer="evil", limit=1).items
    page = web.get(f"/invoices/{invoice.id}")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text


def test_ids_with_odd_characters_are_linked_encoded(web: Web) -> None:
    web.app.customers.put("a b?c&d", {"name": "Odd"}, actor=CLI)
    web.session(VIEWER)
    listed = web.get("/customers").text
    assert 'href="/customers/a%20b%3Fc%26d"' in listed
    page = web.get("/customers/a%20b%3Fc%26d")
    assert page.status_code == 200
    assert "Customer Odd" in page.text
    assert 'href="/outcomes?customer=a+b%3Fc%26d"' in page.text


# The use cases behind these pages, on both backends ---------------------------------------


def test_browse_edit_and_check_on_each_backend(db: Database) -> None:
    clock = Clock()
    customers = Customers(db, clock)
    for name in ("b", "a", "c"):
        customers.put(name, {}, actor=CLI)
    first = customers.browse(limit=2)
    assert [row.customer.id for row in first.items] == ["a", "b"]
    assert first.after == ("b",)
    assert first.items[0].open.start == datetime(2026, 11, 1, tzinfo=UTC)
    rest = customers.browse(limit=2, after="b")
    assert ([row.customer.id for row in rest.items], rest.after) == (["c"], None)
    edited = customers.edit("a", {"name": "A Ltd", "billing_day": 20}, actor=ADMIN)
    assert (edited.name, edited.billing_day) == ("A Ltd", 20)
    with pytest.raises(UnknownCustomer):
        customers.edit("nobody", {"name": "X"}, actor=ADMIN)
    with pytest.raises(Invalid) as refused:
        customers.edit("a", {"email": "no at sign"}, actor=ADMIN)
    assert refused.value.field == "email"
    assert customers.get("a").email is None
    assert [row.customer.id for row in customers.browse(limit=5).items] == ["a", "b", "c"]
