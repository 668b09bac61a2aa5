package audience

// isoCountries lists the ISO 3166-1 alpha-2 codes, each followed by a space.
const isoCountries = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW "

// countryNames maps common names of countries (letters only, lower-case,
// in English and in French) to their codes, for spreadsheets that spell
// the country out.
var countryNames = map[string]string{
	"france": "FR", "unitedstates": "US", "unitedstatesofamerica": "US", "usa": "US", "étatsunis": "US", "etatsunis": "US",
	"unitedkingdom": "GB", "uk": "GB", "greatbritain": "GB", "england": "GB", "royaumeuni": "GB",
	"germany": "DE", "deutschland": "DE", "allemagne": "DE", "belgium": "BE", "belgique": "BE", "belgië": "BE",
	"switzerland": "CH", "suisse": "CH", "schweiz": "CH", "canada": "CA", "spain": "ES", "españa": "ES", "espagne": "ES",
	"italy": "IT", "italia": "IT", "italie": "IT", "portugal": "PT", "netherlands": "NL", "nederland": "NL", "paysbas": "NL",
	"luxembourg": "LU", "ireland": "IE", "irlande": "IE", "austria": "AT", "autriche": "AT", "österreich": "AT",
	"morocco": "MA", "maroc": "MA", "algeria": "DZ", "algérie": "DZ", "algerie": "DZ", "tunisia": "TN", "tunisie": "TN",
	"senegal": "SN", "sénégal": "SN", "côtedivoire": "CI", "cotedivoire": "CI", "ivorycoast": "CI", "cameroon": "CM", "cameroun": "CM",
	"australia": "AU", "australie": "AU", "newzealand": "NZ", "brazil": "BR", "brésil": "BR", "brasil": "BR", "mexico": "MX", "mexique": "MX",
	"india": "IN", "inde": "IN", "japan": "JP", "japon": "JP", "china": "CN", "chine": "CN", "sweden": "SE", "suède": "SE",
	"norway": "NO", "norvège": "NO", "denmark": "DK", "danemark": "DK", "finland": "FI", "finlande": "FI", "poland": "PL", "pologne": "PL",
	"greece": "GR", "grèce": "GR", "israel": "IL", "israël": "IL", "southafrica": "ZA", "afriquedusud": "ZA", "singapore": "SG", "singapour": "SG",
	"réunion": "RE", "lareunion": "RE", "laréunion": "RE", "guadeloupe": "GP", "martinique": "MQ", "monaco": "MC",
}

// callingCodes gives the international calling code of a country, for
// phone numbers written in national form ("06 12 34 56 78" in France).
// Countries missing here need their numbers written with "+".
var callingCodes = map[string]string{
	"FR": "33", "BE": "32", "CH": "41", "LU": "352", "MC": "377", "DE": "49", "AT": "43", "NL": "31", "ES": "34", "PT": "351",
	"IT": "39", "GB": "44", "IE": "353", "DK": "45", "SE": "46", "NO": "47", "FI": "358", "PL": "48", "CZ": "420", "GR": "30",
	"RO": "40", "HU": "36", "US": "1", "CA": "1", "MX": "52", "BR": "55", "AR": "54", "AU": "61", "NZ": "64", "IN": "91",
	"JP": "81", "CN": "86", "SG": "65", "IL": "972", "ZA": "27", "MA": "212", "DZ": "213", "TN": "216", "SN": "221", "CI": "225",
	"CM": "237", "RE": "262", "GP": "590", "MQ": "596", "GF": "594", "TR": "90", "AE": "971", "SA": "966", "EG": "20", "NG": "234",
	"KE": "254", "UA": "380", "RU": "7",
}
