// Package emulator is an in-memory emulator of the Booking.com Connectivity
// Contacts REST API and of its token exchange, for tests and local runs of
// contacts-facade. It serves the same paths, checks the same things and
// answers the same error bodies as the real API describes in its public
// documentation (digested in the project's shared/contacts-api.md); where the
// documentation is silent, the choice made is marked ASSUMPTION next to the
// code.
//
// # Paths
//
// An *Emulator is an http.Handler that serves, from "/":
//
//	GET  /properties/{id}/contacts[?no_language_fallback=0|1]
//	PUT  /properties/{id}/contacts   overlay: the body replaces all contacts
//	POST /properties/{id}/contacts   create: 400 + OTA 150 if the property
//	                                 already has a general contact
//	POST /token-based-authentication/exchange
//	     {"client_id","client_secret"} -> {"jwt","ruid"}
//
// Any other path or method answers 400 + OTA 450. Contacts calls check, in
// order: the route, the credentials (401 + 497 when missing, expired or
// revoked; 400 + 497 when not ours), the property (404 + 635), the query,
// the body (every problem, one errors[] entry per offending field, fields
// as JSON paths such as "contacts[0].phones[1].phone_number"), and for
// POST the 150 rule.
//
// # Demo data
//
// Credentials (one machine account, DemoMachineAccountID):
//
//	client id / secret   demo-client-id / demo-client-secret   (DemoClientID, DemoClientSecret)
//	Basic (legacy)       demo / demo-password                  (DemoUsername, DemoPassword)
//	static bearer token  demo-static-token                     (DemoStaticToken)
//
// Properties seeded by New:
//
//	1000001 DemoPropertyFull        general+invoices contact (full person, NL
//	                                address, landline with extension, mobile)
//	                                and a reservations+availability contact
//	1000002 DemoPropertyNoLanguage  general contact without a stored language
//	                                ("en-gb" on GET, null with
//	                                no_language_fallback=1) and a contract one
//	1000003 DemoPropertyEmpty       no contacts (for POST)
//	1000004 DemoPropertyNoAccess    exists, but the demo account has no
//	                                access: 404 + 635
//
// Tokens live Options.TokenLifetime (1h) and one client id may obtain
// Options.ExchangesPerHour (30) in any sliding hour; past that the
// exchange answers 429 with Retry-After. address.state_prov_code is
// accepted but never returned.
//
// For tests of the facade's safe edits, OutsideWrite changes a property's
// contacts as a writer outside the facade would (same validation and
// overlay as PUT, no HTTP), and Puts counts the PUT requests that reached
// a property.
// Options.Latency and Options.LatencyJitter delay every request, to
// emulate an upstream tens of milliseconds away; a caller that leaves
// during the delay gets no answer and changes nothing.
// Options.ExtraProperties seeds copies of 1000001 from FirstExtraProperty
// on, for benchmarks over many properties.
//
// The emulator is for tests and local development only: it holds
// everything in memory and logs only method, path, status and duration.
package emulator
