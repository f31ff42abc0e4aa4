"""The country table: ISO 3166-1 alpha-2 and alpha-3 codes with the names sources write.

One line per country (two for long lists of names): alpha-2, alpha-3, then names separated by
``|`` (English first, then other spellings met in the data of our markets: Swedish, Chinese,
Irish and common short forms). The lookup folds case, diacritics, full stops and spacing, so each
name is listed once.
"""

from __future__ import annotations

__all__ = ["COUNTRY_TABLE"]

COUNTRY_TABLE = """
AD AND Andorra
AE ARE United Arab Emirates|UAE|Förenade Arabemiraten|阿联酋|阿拉伯联合酋长国
AF AFG Afghanistan
AG ATG Antigua and Barbuda
AI AIA Anguilla
AL ALB Albania|Albanien
AM ARM Armenia|Armenien
AO AGO Angola
AQ ATA Antarctica
AR ARG Argentina|阿根廷
AS ASM American Samoa
AT AUT Austria|Österreich|Österrike|奥地利
AU AUS Australia|Australien|澳大利亚|澳洲
AW ABW Aruba
AX ALA Åland Islands|Åland
AZ AZE Azerbaijan
BA BIH Bosnia and Herzegovina|Bosnien och Hercegovina
BB BRB Barbados
BD BGD Bangladesh
BE BEL Belgium|Belgien|België|Belgique|比利时
BF BFA Burkina Faso
BG BGR Bulgaria|Bulgarien
BH BHR Bahrain
BI BDI Burundi
BJ BEN Benin
BL BLM Saint Barthélemy
BM BMU Bermuda
BN BRN Brunei|Brunei Darussalam
BO BOL Bolivia|Bolivia, Plurinational State of
BQ BES Caribbean Netherlands|Bonaire, Sint Eustatius and Saba
BR BRA Brazil|Brasilien|Brasil|巴西
BS BHS Bahamas
BT BTN Bhutan
BV BVT Bouvet Island
BW BWA Botswana
BY BLR Belarus|Vitryssland
BZ BLZ Belize
CA CAN Canada|Kanada|加拿大
CC CCK Cocos (Keeling) Islands|Cocos Islands
CD COD Democratic Republic of the Congo|DR Congo|Congo-Kinshasa
CF CAF Central African Republic
CG COG Republic of the Congo|Congo|Congo-Brazzaville
CH CHE Switzerland|Schweiz|Suisse|Svizzera|瑞士
CI CIV Côte d'Ivoire|Ivory Coast
CK COK Cook Islands
CL CHL Chile
CM CMR Cameroon
CN CHN China|People's Republic of China|PRC|Mainland China|Kina|中国|中國
CN CHN 中华人民共和国|中華人民共和國
CO COL Colombia
CR CRI Costa Rica
CU CUB Cuba
CV CPV Cabo Verde|Cape Verde
CW CUW Curaçao
CX CXR Christmas Island
CY CYP Cyprus|Cypern
CZ CZE Czechia|Czech Republic|Tjeckien|Česko|捷克
DE DEU Germany|Deutschland|Tyskland|德国|德國
DJ DJI Djibouti
DK DNK Denmark|Danmark|丹麦
DM DMA Dominica
DO DOM Dominican Republic
DZ DZA Algeria|Algeriet
EC ECU Ecuador
EE EST Estonia|Estland|Eesti
EG EGY Egypt|Egypten|埃及
EH ESH Western Sahara
ER ERI Eritrea
ES ESP Spain|Spanien|España|西班牙
ET ETH Ethiopia|Etiopien
FI FIN Finland|Suomi|芬兰
FJ FJI Fiji
FK FLK Falkland Islands
FM FSM Micronesia
FO FRO Faroe Islands|Färöarna|Føroyar
FR FRA France|Frankrike|Frankreich|法国|法國
GA GAB Gabon
GB GBR United Kingdom|UK|Great Britain|Britain|England|Scotland|Wales|Northern Ireland
GB GBR United Kingdom of Great Britain and Northern Ireland|Storbritannien|Skottland|Nordirland
GB GBR 英国|英國|Storbritannien och Nordirland
GD GRD Grenada
GE GEO Georgia|Georgien
GF GUF French Guiana
GG GGY Guernsey
GH GHA Ghana
GI GIB Gibraltar
GL GRL Greenland|Grönland
GM GMB Gambia
GN GIN Guinea
GP GLP Guadeloupe
GQ GNQ Equatorial Guinea
GR GRC Greece|Grekland|Hellas|希腊
GS SGS South Georgia and the South Sandwich Islands
GT GTM Guatemala
GU GUM Guam
GW GNB Guinea-Bissau
GY GUY Guyana
HK HKG Hong Kong|香港
HM HMD Heard Island and McDonald Islands
HN HND Honduras
HR HRV Croatia|Kroatien|Hrvatska
HT HTI Haiti
HU HUN Hungary|Ungern|Magyarország|匈牙利
ID IDN Indonesia|Indonesien|印度尼西亚
IE IRL Ireland|Republic of Ireland|Éire|Irland|爱尔兰|愛爾蘭
IL ISR Israel|以色列
IM IMN Isle of Man
IN IND India|Indien|印度
IO IOT British Indian Ocean Territory
IQ IRQ Iraq|Irak
IR IRN Iran|Iran, Islamic Republic of
IS ISL Iceland|Island|Ísland|冰岛
IT ITA Italy|Italien|Italia|意大利
JE JEY Jersey
JM JAM Jamaica
JO JOR Jordan|Jordanien
JP JPN Japan|日本
KE KEN Kenya
KG KGZ Kyrgyzstan
KH KHM Cambodia|Kambodja
KI KIR Kiribati
KM COM Comoros
KN KNA Saint Kitts and Nevis
KP PRK North Korea|Korea, Democratic People's Republic of|Nordkorea|朝鲜
KR KOR South Korea|Korea|Republic of Korea|Korea, Republic of|Sydkorea|韩国|韓國|대한민국
KW KWT Kuwait
KY CYM Cayman Islands
KZ KAZ Kazakhstan
LA LAO Laos
LB LBN Lebanon|Libanon
LC LCA Saint Lucia
LI LIE Liechtenstein
LK LKA Sri Lanka
LR LBR Liberia
LS LSO Lesotho
LT LTU Lithuania|Litauen|Lietuva
LU LUX Luxembourg|Luxemburg
LV LVA Latvia|Lettland|Latvija
LY LBY Libya|Libyen
MA MAR Morocco|Marocko
MC MCO Monaco
MD MDA Moldova|Moldova, Republic of
ME MNE Montenegro
MF MAF Saint Martin
MG MDG Madagascar
MH MHL Marshall Islands
MK MKD North Macedonia|Macedonia|Nordmakedonien
ML MLI Mali
MM MMR Myanmar|Burma
MN MNG Mongolia|Mongoliet|蒙古
MO MAC Macao|Macau|澳门|澳門
MP MNP Northern Mariana Islands
MQ MTQ Martinique
MR MRT Mauritania
MS MSR Montserrat
MT MLT Malta
MU MUS Mauritius
MV MDV Maldives|Maldiverna
MW MWI Malawi
MX MEX Mexico|Mexiko|México|墨西哥
MY MYS Malaysia|马来西亚
MZ MOZ Mozambique
NA NAM Namibia
NC NCL New Caledonia
NE NER Niger
NF NFK Norfolk Island
NG NGA Nigeria
NI NIC Nicaragua
NL NLD Netherlands|Nederländerna|Nederland|Holland|荷兰
NO NOR Norway|Norge|Noreg|挪威
NP NPL Nepal
NR NRU Nauru
NU NIU Niue
NZ NZL New Zealand|Nya Zeeland|新西兰
OM OMN Oman
PA PAN Panama
PE PER Peru
PF PYF French Polynesia
PG PNG Papua New Guinea
PH PHL Philippines|Filippinerna|菲律宾
PK PAK Pakistan|巴基斯坦
PL POL Poland|Polen|Polska|波兰
PM SPM Saint Pierre and Miquelon
PN PCN Pitcairn|Pitcairn Islands
PR PRI Puerto Rico
PS PSE Palestine|State of Palestine
PT PRT Portugal|葡萄牙
PW PLW Palau
PY PRY Paraguay
QA QAT Qatar
RE REU Réunion
RO ROU Romania|Rumänien|România
RS SRB Serbia|Serbien
RU RUS Russia|Russian Federation|Ryssland|俄罗斯|俄羅斯
RW RWA Rwanda
SA SAU Saudi Arabia|Saudiarabien|沙特阿拉伯
SB SLB Solomon Islands
SC SYC Seychelles
SD SDN Sudan
SE SWE Sweden|Sverige|Kingdom of Sweden|Schweden|Suède|瑞典
SG SGP Singapore|Singapur|新加坡
SH SHN Saint Helena, Ascension and Tristan da Cunha|Saint Helena
SI SVN Slovenia|Slovenien|Slovenija
SJ SJM Svalbard and Jan Mayen
SK SVK Slovakia|Slovakien|Slovensko
SL SLE Sierra Leone
SM SMR San Marino
SN SEN Senegal
SO SOM Somalia
SR SUR Suriname
SS SSD South Sudan
ST STP São Tomé and Príncipe
SV SLV El Salvador
SX SXM Sint Maarten
SY SYR Syria|Syrien
SZ SWZ Eswatini|Swaziland
TC TCA Turks and Caicos Islands
TD TCD Chad
TF ATF French Southern Territories
TG TGO Togo
TH THA Thailand|泰国
TJ TJK Tajikistan
TK TKL Tokelau
TL TLS Timor-Leste|East Timor
TM TKM Turkmenistan
TN TUN Tunisia|Tunisien
TO TON Tonga
TR TUR Türkiye|Turkey|Turkiet|土耳其
TT TTO Trinidad and Tobago
TV TUV Tuvalu
TW TWN Taiwan|Taiwan, Province of China|台湾|臺灣|台灣
TZ TZA Tanzania|Tanzania, United Republic of
UA UKR Ukraine|Ukraina|乌克兰
UG UGA Uganda
UM UMI United States Minor Outlying Islands
US USA United States|United States of America|America|U.S.|U.S.A.|Förenta staterna|美国|美國
UY URY Uruguay
UZ UZB Uzbekistan
VA VAT Holy See|Vatican City|Vatican
VC VCT Saint Vincent and the Grenadines
VE VEN Venezuela|Venezuela, Bolivarian Republic of
VG VGB British Virgin Islands
VI VIR United States Virgin Islands|US Virgin Islands
VN VNM Vietnam|Viet Nam|越南
VU VUT Vanuatu
WF WLF Wallis and Futuna
WS WSM Samoa
YE YEM Yemen|Jemen
YT MYT Mayotte
ZA ZAF South Africa|Sydafrika|南非
ZM ZMB Zambia
ZW ZWE Zimbabwe
"""
"""Alpha-2, alpha-3 and names of the 249 ISO 3166-1 countries (a country may take two lines)."""
