"""Free text in English, Swedish and Chinese: agents' notes and survey comments.

Templates are keyed by the *true* contact reason (or by score band and driver for comments) and
the person's language, and filled vectorised: rows sharing a template are built together.
Some notes span two lines, as agents write them; CSV writers quote them.
"""

# Chinese notes and comments use full-width punctuation, as written Chinese does.
# ruff: noqa: RUF001

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

from insightloop.demo.fmt import assemble, concat

__all__ = ["COMMENTS", "NOTES", "REASONS", "all_templates", "choose", "fill"]

REASONS = (
    "delivery_late",
    "return_refund",
    "product_question",
    "billing_payment",
    "account_access",
    "loyalty_points",
    "complaint",
)

NOTES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "delivery_late": (
            "Customer called about order {order}, promised delivery passed {days} days ago. "
            "Checked with carrier, parcel delayed.",
            "Where is my order {order}? Parcel is {days} days late. Customer upset, offered "
            "voucher.",
            "Chased delivery for {order}.\nCarrier says delayed in hub, new ETA given.",
        ),
        "return_refund": (
            "Return of {product} from order {order}. Customer asks when the refund arrives.",
            "Refund not received for returned {product}. Checked return status.",
            "Wants to return {product}, wrong size.\nSent return label.",
        ),
        "product_question": (
            "Question about {product}: size and material. Answered.",
            "Customer asked if {product} is back in stock.",
            "Asked how to use {product}, sent manual link.",
        ),
        "billing_payment": (
            "Charged twice for an order. Checked with payment provider.",
            "Invoice question, payment declined at checkout.",
        ),
        "account_access": (
            "Cannot log in, password reset link not arriving.",
            "Customer locked out of account after e-mail change.\nUpdated e-mail and reset "
            "password.",
        ),
        "loyalty_points": (
            "Points missing from store purchase. Card number checked.",
            "Asked about loyalty tier and points balance.",
        ),
        "complaint": (
            "Complaint about service in store {store}. Customer very unhappy.",
            "Customer unhappy with quality of {product}, wants compensation.",
            "Complaint: rude staff and long queue at {store}.\nEscalated to store manager.",
        ),
    },
    "sv": {
        "delivery_late": (
            "Kunden ringde om order {order}, leveransen är {days} dagar sen. Kollade med "
            "transportören.",
            "Var är min beställning {order}? Paketet är {days} dagar försenat. Kunden irriterad, "
            "erbjöd rabattkod.",
            "Jagade leverans för {order}.\nTransportören säger försenat på terminalen, nytt "
            "datum lämnat.",
        ),
        "return_refund": (
            "Retur av {product} från order {order}. Kunden undrar när återbetalningen kommer.",
            "Återbetalning saknas för returnerad {product}. Kontrollerade returstatus.",
            "Vill returnera {product}, fel storlek.\nSkickade returetikett.",
        ),
        "product_question": (
            "Fråga om {product}: storlek och material. Besvarat.",
            "Kunden frågade om {product} finns i lager igen.",
            "Frågade hur {product} används, skickade länk till manual.",
        ),
        "billing_payment": (
            "Dubbeldebiterad för en order. Kontrollerade med betalleverantören.",
            "Fråga om faktura, betalningen nekades i kassan.",
        ),
        "account_access": (
            "Kan inte logga in, länken för nytt lösenord kommer inte fram.",
            "Kunden utelåst från kontot efter byte av e-post.\nUppdaterade e-post och "
            "återställde lösenord.",
        ),
        "loyalty_points": (
            "Poäng saknas från butiksköp. Kontrollerade kortnummer.",
            "Frågade om medlemsnivå och poängsaldo.",
        ),
        "complaint": (
            "Klagomål på bemötandet i butik {store}. Kunden mycket missnöjd.",
            "Kunden missnöjd med kvaliteten på {product}, vill ha ersättning.",
            "Klagomål: otrevlig personal och lång kö i {store}.\nEskalerat till butikschef.",
        ),
    },
    "zh": {
        "delivery_late": (
            "客户来电询问订单{order}，已超过承诺送达时间{days}天。已联系快递公司。",
            "订单{order}还没到，延误{days}天。客户不满，已发优惠券。",
            "跟进订单{order}的配送。\n快递称在转运中心延误，已告知新的送达时间。",
        ),
        "return_refund": (
            "订单{order}中的{product}退货，客户询问退款何时到账。",
            "已退回的{product}尚未收到退款，已查询退货状态。",
            "想退{product}，尺码不合适。\n已发送退货标签。",
        ),
        "product_question": (
            "咨询{product}的尺寸和材质，已解答。",
            "客户询问{product}是否补货。",
            "询问{product}的使用方法，已发送说明书链接。",
        ),
        "billing_payment": (
            "订单被重复扣款，已核查支付渠道。",
            "发票问题，结账时付款失败。",
        ),
        "account_access": (
            "无法登录，收不到重置密码链接。",
            "更换邮箱后账户被锁定。\n已更新邮箱并重置密码。",
        ),
        "loyalty_points": (
            "门店消费积分未到账，已核对会员卡号。",
            "询问会员等级和积分余额。",
        ),
        "complaint": (
            "投诉{store}门店服务态度差，客户非常不满。",
            "客户对{product}的质量不满意，要求补偿。",
            "投诉：{store}店员态度差，排队时间长。\n已上报店长。",
        ),
    },
}

# Survey comments by language and theme; themes follow the planted NPS drivers.
COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "praise": (
            "Great service, fast delivery!",
            "Love the products, will shop again.",
            "Very helpful staff, thank you.",
        ),
        "neutral": (
            "OK overall, nothing special.",
            "Good products but prices are high.",
            "Delivery was fine.",
        ),
        "late": (
            "My order arrived {days} days late and nobody told me.",
            "Delivery was late again, very frustrating.",
        ),
        "unresolved": (
            "Contacted customer service and my problem is still not solved.",
            "Nobody helped me with my issue.",
        ),
        "negative": ("Disappointed with the quality.", "Too expensive for what you get."),
    },
    "sv": {
        "praise": (
            "Toppenservice, snabb leverans!",
            "Älskar produkterna, handlar gärna igen.",
            "Mycket hjälpsam personal, tack.",
        ),
        "neutral": (
            "Helt okej, inget speciellt.",
            "Bra produkter men höga priser.",
            "Leveransen fungerade.",
        ),
        "late": (
            "Beställningen kom {days} dagar för sent och ingen hörde av sig.",
            "Leveransen var sen igen, väldigt frustrerande.",
        ),
        "unresolved": (
            "Kontaktade kundtjänst men mitt problem är fortfarande inte löst.",
            "Ingen hjälpte mig med mitt ärende.",
        ),
        "negative": ("Besviken på kvaliteten.", "För dyrt för vad man får."),
    },
    "zh": {
        "praise": (
            "服务很好，送货很快！",
            "很喜欢这些商品，还会再来购买。",
            "店员非常热情，谢谢。",
        ),
        "neutral": ("总体还行，没什么特别的。", "商品不错，但价格偏高。", "配送正常。"),
        "late": ("订单晚了{days}天才到，也没有人通知我。", "又一次送货延误，非常失望。"),
        "unresolved": ("联系了客服，问题到现在还没解决。", "没有人帮我处理问题。"),
        "negative": ("对质量很失望。", "性价比太低。"),
    },
}

_SLOT = re.compile(r"\{(\w+)\}")


def fill(templates: list[str], choice: np.ndarray, slots: dict[str, pa.Array]) -> pa.Array:
    """Render ``templates[choice[i]]`` for every row, taking ``{slot}`` values from ``slots``.

    Slot arrays are full length; only the rows using a template are touched by it.
    """
    n = len(choice)
    pieces: list[tuple[np.ndarray, pa.Array]] = []
    for t in np.unique(choice):
        mask = choice == t
        rows = pa.array(np.flatnonzero(mask))
        parts: list[pa.Array | str] = []
        for i, token in enumerate(_SLOT.split(templates[int(t)])):
            if i % 2:
                parts.append(slots[token].take(rows))
            elif token:
                parts.append(token)
        if len(parts) == 1 and isinstance(parts[0], str):
            pieces.append((mask, pa.repeat(pa.scalar(parts[0]), int(mask.sum()))))
        else:
            pieces.append((mask, concat(*parts, "")))
    return assemble(n, pieces)


def all_templates(table: dict[str, dict[str, tuple[str, ...]]]) -> list[str]:
    """Every template of ``table`` in a fixed order (language, theme, option)."""
    return [t for themes in table.values() for options in themes.values() for t in options]


def choose(
    rng: np.random.Generator,
    table: dict[str, dict[str, tuple[str, ...]]],
    language: np.ndarray,
    theme: np.ndarray,
) -> np.ndarray:
    """Per row, a random template of its language and theme, as a position in
    :func:`all_templates` of ``table``; ``theme`` holds theme names."""
    languages = list(table)
    themes = list(next(iter(table.values())))
    start = np.zeros((len(languages), len(themes)), dtype=np.int64)
    count = np.zeros_like(start)
    position = 0
    for i, lang in enumerate(languages):
        for j, name in enumerate(themes):
            start[i, j], count[i, j] = position, len(table[lang][name])
            position += len(table[lang][name])
    li = np.select([language == lang for lang in languages], range(len(languages)), 0)
    ti = np.select([theme == name for name in themes], range(len(themes)), 0)
    return start[li, ti] + (rng.random(len(language)) * count[li, ti]).astype(np.int64)
