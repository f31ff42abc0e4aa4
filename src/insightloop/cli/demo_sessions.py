"""What a demo shopper does online: sessions of Segment calls for ``insightloop demo stream``.

Returning customers browse, search, view and add products and sometimes order, on the web or in
the app; new visitors browse anonymously and then log in on the same device. Every call is made
with the message id, timestamp and context a Segment SDK would give it.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from insightloop.demo.params import COUNTRIES
from insightloop.profile.backends import ProfileDocuments

__all__ = ["Call", "Product", "SessionPlanner", "Shopper", "ShopperSource"]

SHOP = "https://shop.insightloop.example"
_SEARCHES = ("jacket", "gift", "coffee", "headphones", "lamp", "sneakers", "yoga", "candle")
_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
)
_APPS = (
    {
        "app": {"name": "Insightloop Shop", "version": "5.2.1", "build": "5210"},
        "device": {"type": "ios", "model": "iPhone15,2"},
        "os": {"name": "iOS", "version": "17.5"},
    },
    {
        "app": {"name": "Insightloop Shop", "version": "5.2.0", "build": "5200"},
        "device": {"type": "android", "model": "Pixel 8"},
        "os": {"name": "Android", "version": "14"},
    },
)
_COUNTRIES = {c.code: c for c in COUNTRIES}
_DEFAULT_COUNTRY = _COUNTRIES["IE"]


# -- what to send ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """A catalogue product with its list price per currency."""

    sku: str
    name: str
    category: str
    brand: str | None
    prices: dict[str, float]

    def price(self, currency: str) -> tuple[float, str]:
        """The list price in ``currency``, else in euros, else in the first currency listed."""
        for wanted in (currency, "EUR"):
            if wanted in self.prices:
                return self.prices[wanted], wanted
        listed, price = next(iter(self.prices.items()))
        return price, listed


@dataclass(frozen=True)
class Shopper:
    """A customer as the stream uses them: web-shop user id, traits and known devices."""

    user_id: str
    customer_id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    locale: str = _DEFAULT_COUNTRY.locale
    currency: str = _DEFAULT_COUNTRY.currency
    devices: tuple[str, ...] = ()

    @classmethod
    def from_document(cls, user_id: str, doc: dict[str, Any]) -> Shopper:
        golden = doc.get("golden") or {}
        country = _COUNTRIES.get(golden.get("country") or "", _DEFAULT_COUNTRY)
        devices = [
            i["value"]
            for i in doc.get("identifiers") or []
            if i.get("type") == "anonymous_id" and i.get("value")
        ]
        return cls(
            user_id=user_id,
            customer_id=str(doc["customer_id"]),
            email=golden.get("email"),
            first_name=golden.get("first_name"),
            last_name=golden.get("last_name"),
            locale=country.locale,
            currency=country.currency,
            devices=tuple(sorted(devices)),
        )

    def traits(self) -> dict[str, str]:
        names = {"email": self.email, "firstName": self.first_name, "lastName": self.last_name}
        return {k: v for k, v in names.items() if v}


@dataclass(frozen=True)
class Call:
    """One SDK call: the client method, its keyword arguments, and whose event it is."""

    method: str  # page, screen, track or identify
    kwargs: dict[str, Any]
    customer_id: str
    user_id: str

    @property
    def message_id(self) -> str:
        return str(self.kwargs["message_id"])

    @property
    def label(self) -> str:
        if self.method == "track":
            return str(self.kwargs["event"])
        if self.method in ("page", "screen"):
            return f"{self.method} {self.kwargs['name']}"
        return self.method


def _new_id() -> str:
    # Not from the seeded generator: the same --seed run twice must not send the same message
    # ids (the server would skip them as duplicates) nor reuse a "new" visitor's device.
    return str(uuid.uuid4())


class SessionPlanner:
    """Shop sessions of random customers, as SDK calls (see the module docs).

    ``shoppers`` looks a customer's profile up by ``(user_id, customer_id)``; ``seed`` makes the
    choice of customers, channels and products repeatable (message and device ids stay unique).
    """

    def __init__(
        self,
        customers: Sequence[tuple[str, str]],
        products: Sequence[Product],
        shoppers: ShopperSource,
        seed: int | None = None,
    ) -> None:
        if not customers or not products:
            raise ValueError("a stream needs customers and products")
        self.customers = list(customers)
        self.shoppers = shoppers
        self.rng = random.Random(seed)
        self.by_category: dict[str, list[Product]] = {}
        for p in products:
            self.by_category.setdefault(p.category, []).append(p)

    def calls(self, limit: int | None) -> Iterator[Call]:
        """Calls of one session after another: ``limit`` of them, or without end (``None``)."""
        produced = 0
        while limit is None or produced < limit:
            session = self.session()
            if limit is not None and produced + len(session) > limit:
                session = _shorten(session, limit - produced)
            produced += len(session)
            yield from session

    def session(self) -> list[Call]:
        rng = self.rng
        shopper = self.shoppers.get(*rng.choice(self.customers))
        app = rng.random() < 0.3
        steps = ["home"]
        steps += ["search"] if rng.random() < 0.35 else []
        steps += ["category"] if rng.random() < 0.6 else []
        category = rng.choice(sorted(self.by_category))
        pool = self.by_category[category]
        viewed = rng.sample(pool, min(rng.randint(1, 3), len(pool)))
        steps += ["view"] * len(viewed)
        order = rng.random() < 0.2
        added = viewed[: rng.randint(1, len(viewed))] if order or rng.random() < 0.3 else []
        steps += ["add"] * len(added)
        steps += ["checkout", "completed"] if order else []
        if rng.random() < 0.25 or not shopper.devices:
            # A new visitor: anonymous at first, then logs in (the identify attaches the device).
            device, login = _new_id(), rng.randint(1, min(3, len(steps)))
        else:
            device = rng.choice(shopper.devices)
            login = 0 if rng.random() < 0.15 else -1
        session = _Session(shopper, device, app, rng.randrange(1 << 16), category)
        quantities = [rng.choice((1, 1, 1, 2)) for _ in added]
        views, adds = iter(viewed), iter(zip(added, quantities, strict=True))
        calls: list[Call] = []
        for position, step in enumerate(steps):
            if position == login:
                calls.append(session.identify())
            logged_in = login == -1 or position >= login
            if step == "search":
                calls.append(session.track("Products Searched", {"query": rng.choice(_SEARCHES)}))
            elif step == "view":
                calls.append(session.product("Product Viewed", next(views)))
            elif step == "add":
                product, quantity = next(adds)
                calls.append(session.product("Product Added", product, quantity))
            elif step in ("checkout", "completed"):
                calls.append(session.order(step, list(zip(added, quantities, strict=True))))
            else:
                calls.append(session.view("Home" if step == "home" else "Category"))
            if not logged_in:
                calls[-1].kwargs["user_id"] = None
        if login == len(steps):
            calls.append(session.identify())
        return calls


class ShopperSource:
    """Shoppers from the profile store, read once each."""

    def __init__(self, store: ProfileDocuments) -> None:
        self.store = store
        self._cache: dict[str, Shopper] = {}

    def get(self, user_id: str, customer_id: str) -> Shopper:
        if user_id not in self._cache:
            raw = self.store.get(customer_id)
            doc = orjson.loads(raw) if raw else {"customer_id": customer_id}
            self._cache[user_id] = Shopper.from_document(user_id, doc)
        return self._cache[user_id]


@dataclass
class _Session:
    """The calls of one visit, on one device, with consistent context."""

    shopper: Shopper
    device: str
    app: bool
    variant: int
    category: str
    order_id: str = field(default_factory=lambda: f"WO{uuid.uuid4().int % 10**9:09d}")
    path: str = "/"

    def _context(self) -> dict[str, Any]:
        context: dict[str, Any] = {
            "locale": self.shopper.locale,
            "ip": f"203.0.113.{1 + self.variant % 254}",
        }
        if self.app:
            context.update(orjson.loads(orjson.dumps(_APPS[self.variant % len(_APPS)])))
        else:
            context["userAgent"] = _USER_AGENTS[self.variant % len(_USER_AGENTS)]
            context["page"] = {"path": self.path, "url": SHOP + self.path}
        return context

    def _call(self, method: str, **kwargs: Any) -> Call:
        kwargs.update(
            user_id=self.shopper.user_id,
            anonymous_id=self.device,
            context=self._context(),
            message_id=_new_id(),
        )
        return Call(method, kwargs, self.shopper.customer_id, self.shopper.user_id)

    def identify(self) -> Call:
        return self._call("identify", traits=self.shopper.traits())

    def view(self, name: str) -> Call:
        if self.app:
            props = {"category": self.category} if name == "Category" else {}
            return self._call("screen", name=name, properties=props)
        self.path = f"/c/{self.category}" if name == "Category" else "/"
        props = {"path": self.path, "url": SHOP + self.path, "title": name}
        return self._call("page", name=name, properties=props)

    def track(self, event: str, properties: dict[str, Any]) -> Call:
        return self._call("track", event=event, properties=properties)

    def _item(self, product: Product, quantity: int) -> dict[str, Any]:
        price, currency = product.price(self.shopper.currency)
        item = {
            "product_id": product.sku,
            "sku": product.sku,
            "name": product.name,
            "category": product.category,
            "price": price,
            "currency": currency,
            "quantity": quantity,
        }
        return item | ({"brand": product.brand} if product.brand else {})

    def product(self, event: str, product: Product, quantity: int = 1) -> Call:
        self.path = f"/p/{product.sku}"
        return self.track(event, self._item(product, quantity))

    def order(self, step: str, lines: list[tuple[Product, int]]) -> Call:
        items = [self._item(p, q) for p, q in lines]
        total = round(sum(i["price"] * i["quantity"] for i in items), 2)
        currency = items[0]["currency"] if items else self.shopper.currency
        props = {"order_id": self.order_id, "currency": currency, "products": items}
        if step == "checkout":
            self.path = "/checkout"
            return self.track("Checkout Started", props | {"value": total, "revenue": total})
        self.path = "/checkout/confirmation"
        return self.track("Order Completed", props | {"total": total, "revenue": total})


def _shorten(session: list[Call], n: int) -> list[Call]:
    """The first ``n`` calls, keeping the login of a new visitor (so its device attaches)."""
    login = next((i for i, c in enumerate(session) if c.method == "identify"), None)
    if login is None or login < n or n == 0:
        return session[:n]
    return [*session[: n - 1], session[login]]
