// Package docs holds the documentation pages of contacts-facade as
// Markdown files. It has no code: its tests check the pages and README.md
// (links resolve, the README stays a short front door, its grpcurl calls
// and docs/grpcurl.md are the session cmd/contactsd's test runs).
package docs
