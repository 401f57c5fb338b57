package emulator

import (
	"regexp"
	"strings"
)

// The value lists below are the emulator's stand-in for Booking.com's own
// reference data. They are functions returning fresh values rather than
// package-level variables, so no caller can change what another one sees.

// profileTypes are the contact profile types a PUT or POST may send, in the
// order of the digest (they are also the allowed_values of a 320).
func profileTypes() []string {
	return []string{
		"general", "reservations", "invoices", "availability",
		"site_content", "parity", "requests", "central_reservations",
	}
}

// profileContract is readable but refused on write with OTA 450 (seed table).
const profileContract = "contract"

// profileGeneral is the profile every property needs exactly once.
const profileGeneral = "general"

// genders are the accepted contact_person.gender values.
func genders() []string { return []string{"male", "female"} }

// jobTitles are the documented contact_person.job_title values.
func jobTitles() []string {
	return []string{
		"Administration Employee", "Director of Business Development",
		"E-Commerce Manager", "Finance Manager", "Front Office Employee",
		"Front Office Manager", "General Manager", "Marketing Manager", "Owner",
		"Reservations Employee", "Reservations Manager", "Revenue Manager",
		"Rooms Division Manager", "Sales & Marketing Manager", "Sales Executive",
		"Sales Manager", "Unknown",
	}
}

// languageCodes is a reasonable subset of Booking.com's language codes.
//
// ASSUMPTION: Booking.com does not publish the list the Contacts API checks
// against; these are the languages its website is offered in. A 320 on a
// language code carries no allowed_values because the list is long.
func languageCodes() []string {
	return []string{
		"en-gb", "en-us", "de", "nl", "fr", "es", "es-ar", "ca", "it", "pt-pt",
		"pt-br", "no", "fi", "sv", "da", "cs", "hu", "ro", "ja", "zh-cn",
		"zh-tw", "pl", "el", "ru", "tr", "bg", "ar", "ko", "he", "lv", "uk",
		"hr", "id", "ms", "th", "et", "sk", "sl", "lt", "tl", "vi", "is", "sr",
		"hi",
	}
}

// fallbackLanguage is what GET answers for a missing contact_person
// language unless no_language_fallback=1 (digest, "Endpoints").
const fallbackLanguage = "en-gb"

// countryCodes is every officially assigned ISO 3166-1 alpha-2 code (249).
func countryCodes() []string {
	return strings.Fields(`
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ
EC EE EG EH ER ES ET
FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ
OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA
RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ
VA VC VE VG VI VN VU
WF WS
YE YT
ZA ZM ZW`)
}

// Phone tech types (digest): 1 voice, 3 fax, 5 mobile.
const (
	techVoice  = 1
	techFax    = 3
	techMobile = 5
)

// techTypeLimits is how many phones of each tech type one contact may have;
// a tech type absent from the map is not allowed at all.
func techTypeLimits() map[int]int {
	return map[int]int{techVoice: 3, techFax: 1, techMobile: 1}
}

// techTypeAllowed is the allowed_values of a 320 on phone_tech_type.
func techTypeAllowed() []string { return []string{"1", "3", "5"} }

// noLanguageFallbackAllowed is the allowed_values of a 320 on the query
// parameter no_language_fallback.
func noLanguageFallbackAllowed() []string { return []string{"0", "1"} }

// rules holds the compiled patterns and lookup sets one Emulator uses. It is
// built once per Emulator and only read afterwards, so it needs no lock.
type rules struct {
	profileTypes map[string]bool
	genders      map[string]bool
	jobTitles    map[string]bool
	languages    map[string]bool
	countries    map[string]bool

	phoneNumber *regexp.Regexp
	extension   *regexp.Regexp
	// postal maps a country code to its postal code pattern; postalOther
	// applies to every other country.
	postal      map[string]*regexp.Regexp
	postalOther *regexp.Regexp
}

func newRules() *rules {
	return &rules{
		profileTypes: set(profileTypes()),
		genders:      set(genders()),
		jobTitles:    set(jobTitles()),
		languages:    set(languageCodes()),
		countries:    set(countryCodes()),
		phoneNumber:  regexp.MustCompile(`^\+[0-9]{6,15}$`),
		extension:    regexp.MustCompile(`^[0-9]{1,10}$`),
		// ASSUMPTION: the real API checks postal codes per country with
		// rules it does not publish. We check NL, US and GB precisely enough
		// to catch mistakes and everything else loosely.
		postal: map[string]*regexp.Regexp{
			"NL": regexp.MustCompile(`^[1-9][0-9]{3} ?[A-Z]{2}$`),
			"US": regexp.MustCompile(`^[0-9]{5}(-[0-9]{4})?$`),
			"GB": regexp.MustCompile(`^(?i)[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$`),
		},
		postalOther: regexp.MustCompile(`^[A-Za-z0-9 -]{1,10}$`),
	}
}

func set(values []string) map[string]bool {
	m := make(map[string]bool, len(values))
	for _, v := range values {
		m[v] = true
	}
	return m
}

// validPostalCode reports whether code fits the pattern of country, which
// must already be a valid country code.
func (r *rules) validPostalCode(country, code string) bool {
	if p, ok := r.postal[country]; ok {
		return p.MatchString(code)
	}
	return r.postalOther.MatchString(code)
}
