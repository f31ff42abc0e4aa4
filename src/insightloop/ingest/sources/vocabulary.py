"""Header names that sources use for canonical columns, in English, Swedish and Chinese.

Headers are compared after :func:`header_key` (NFKC, lower case, no spaces, ``_``, ``-`` or
``.``), so ``First Name``, ``first_name`` and ``FirstName`` are one key. Every canonical column
also matches its own name.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["ALIASES", "CUSTOMER_KEY_ALIASES", "ENTITY_KEYS", "header_key"]

_SEPARATORS = re.compile(r"[\s_\-.:/()#]+")


def header_key(header: str) -> str:
    """The comparable form of a header.

    Examples
    --------
    >>> header_key("First Name"), header_key("E-post"), header_key("cust_no")
    ('firstname', 'epost', 'custno')
    """
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", header).casefold())


CUSTOMER_KEY_ALIASES = (
    "customerid customerkey custid custno customerno customernumber clientid kundnummer kundnr "
    "kundid userid memberid memberno 客户编号 客户号 客户id 会员号 会员编号"
)
_CONTACT = {
    "email": "email emailaddress mail epost epostadress mejl 邮箱 电子邮件 邮件 电子邮箱",
    "phone": "phone telephone tel mobile mobil mobilephone cellphone cell phonenumber "
    "mobilenumber telefon telefonnummer mobilnummer 手机 电话 手机号 手机号码 联系电话 电话号码",
}
_WHEN = "date datetime timestamp time 时间 日期 datum tid"

ALIASES: dict[str, dict[str, str]] = {
    "customers": {
        "source_key": CUSTOMER_KEY_ALIASES + " id",
        "first_name": "firstname fname givenname forename förnamn fornamn tilltalsnamn 名 名字",
        "last_name": "lastname lname surname familyname efternamn 姓 姓氏",
        "name_raw": "name fullname customername membername contactname namn 姓名 名称 客户名称",
        **_CONTACT,
        "birth_date": "dateofbirth dob birthdate birthday födelsedatum fodelsedatum födelsedag "
        "生日 出生日期",
        "gender": "gender sex kön kon 性别",
        "street": "address addressline1 address1 street streetaddress gatuadress adress "
        "utdelningsadress 地址 街道 详细地址",
        "postcode": "postcode postalcode zip zipcode postnummer postnr 邮编 邮政编码",
        "city": "city town ort stad postort 城市 市",
        "country": "country countrycode land 国家 国家地区",
        "language": "language lang locale språk sprak 语言",
        "loyalty_number": "loyaltyno loyaltynumber loyaltyid cardno cardnumber membershipno "
        "membershipnumber medlemsnummer 会员卡号",
        "created_at": "createddate createdat created creationdate registered registrerad "
        "regtime registrationdate signupdate signedup cardissued joined 注册时间 创建时间",
        "updated_at": "updatedat updated modified lastmodified changedat ändrad 更新时间",
    },
    "orders": {
        "order_id": "orderid orderno ordernumber receiptid receiptno ordernr ordernummer "
        "kvittonr 订单号 订单编号",
        "source_customer_key": CUSTOMER_KEY_ALIASES + " cardnumber loyaltyno",
        "channel": "channel saleschannel kanal 渠道",
        "store_id": "storeid store storeno shopid butik butiksid 门店 门店编号",
        "ordered_at": "orderdate orderedat ordertime purchasedate purchasedat placedat "
        "orderdatum 下单时间 订单时间 " + _WHEN,
        "currency": "currency currencycode valuta 币种 货币",
        "total_amount": "total totalamount ordertotal grandtotal amount sum belopp totalt "
        "summa 金额 总金额 订单金额",
        "discount_amount": "discount discountamount rabatt 折扣 优惠",
        "shipping_amount": "shipping shippingamount freight frakt 运费",
        "status": "status orderstatus state 状态",
        "promised_delivery_at": "promiseddelivery promiseddate promiseddeliveryat",
        "delivered_at": "delivered deliveredat deliverydate levererad 送达时间",
        "returned_amount": "returned returnedamount refund refundamount retur 退款",
    },
    "order_items": {
        "order_id": "orderid orderno ordernumber receiptid receiptno 订单号",
        "line_number": "lineno line linenumber lineid position pos rad radnr 行号",
        "sku": "sku productid itemid articleno artikelnr artikelnummer productcode 商品编号",
        "quantity": "qty quantity units antal 数量",
        "unit_price": "unitprice price pris styckpris 单价",
        "line_amount": "lineamount linetotal lineamt radbelopp 行金额 小计",
        "returned_quantity": "returnedqty returnedquantity returqty 退货数量",
        "discount_amount": "discount discountamount linediscount rabatt 折扣 优惠",
    },
    "products": {
        "sku": "sku productid itemid articleno artikelnr productcode 商品编号",
        "name": "name productname title produktnamn benämning 商品名称 名称",
        "category": "category kategori 类别 品类",
        "subcategory": "subcategory underkategori 子类别",
        "brand": "brand varumärke märke 品牌",
        "price": "price listprice pris 价格",
        "unit_cost": "unitcost cost costprice kostnad 成本",
        "currency": "currency valuta 币种",
        "active": "active isactive enabled aktiv 有效",
    },
    "events": {
        "message_id": "messageid eventid",
        "type": "type eventtype",
        "event": "event eventname",
        "anonymous_id": "anonymousid deviceid cookieid",
        "user_id": "userid",
        "timestamp": "timestamp eventtime occurredat",
    },
    "interactions": {
        "interaction_id": "interactionid contactid ticketid caseid callid ärendenr",
        "source_customer_key": CUSTOMER_KEY_ALIASES,
        "channel": "channel contactchannel kanal",
        "direction": "direction riktning",
        "reason": "reason contactreason topic orsak ärende",
        "agent_id": "agentid agent handler handläggare",
        "started_at": "startedat starttime start calltime " + _WHEN,
        "duration_seconds": "durationseconds duration durationsec handlingtime",
        "resolved": "resolved fcr firstcontactresolution löst",
        "notes": "notes note transcript text comment anteckning",
        "language": "language lang språk",
    },
    "feedback": {
        "response_id": "responseid surveyresponseid answerid svarsid",
        "source_customer_key": CUSTOMER_KEY_ALIASES,
        "survey_type": "surveytype survey survey_name enkät",
        "responded_at": "respondedat responsedate answeredat submittedat " + _WHEN,
        "nps": "nps npsscore likelihoodtorecommend recommend",
        "csat": "csat satisfaction csatscore nöjdhet",
        "ces": "ces effort cesscore",
        "comment": "comment comments feedback verbatim kommentar 评论 意见",
        "order_id": "orderid orderno",
        "interaction_id": "interactionid contactid ticketid",
    },
    "campaigns": {
        "campaign_id": "campaignid campaigncode kampanjid",
        "name": "name campaignname kampanjnamn",
        "channel": "channel kanal",
        "objective": "objective goal purpose syfte",
        "start_at": "start startdate startat",
        "end_at": "end enddate endat",
        "control_share": "controlshare controlpct controlgroupshare holdout",
    },
    "campaign_members": {
        "campaign_id": "campaignid campaigncode",
        "source_customer_key": CUSTOMER_KEY_ALIASES,
        "group_name": "group groupname arm treatmentgroup grupp",
        "assigned_at": "assignedat assigned",
        "sent_at": "sentat sent senddate",
        "responded": "responded response converted",
        "responded_at": "respondedat responsedate",
        "response_order_id": "responseorderid orderid",
    },
    "consents": {
        "source_customer_key": CUSTOMER_KEY_ALIASES,
        "channel": "channel kanal",
        "purpose": "purpose ändamål",
        "status": "status consent optin granted",
        "recorded_at": "recordedat consentdate " + _WHEN,
    },
}

#: The column that identifies one row of an entity: a suggestion whose key repeats is unlikely.
ENTITY_KEYS: dict[str, str] = {
    "customers": "source_key",
    "orders": "order_id",
    "products": "sku",
    "events": "message_id",
    "interactions": "interaction_id",
    "feedback": "response_id",
    "campaigns": "campaign_id",
}
