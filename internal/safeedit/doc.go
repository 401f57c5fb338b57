// Package safeedit is the pure logic of the facade's safe edits: the etag
// of a property's contacts and the merges of the per-profile writes
// (SetProfileContacts, UpdateProfileContact, ClearProfileContacts).
//
// Nothing here does I/O or keeps state: the service reads the contacts
// under its write lock, calls these functions and writes the result.
// Every function leaves its arguments unchanged and returns fresh
// messages.
package safeedit
