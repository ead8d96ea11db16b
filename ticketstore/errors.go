package ticketstore

import "errors"

// Errors returned by the store. Errors about a file wrap these and name the
// file; match them with [errors.Is].
var (
	// ErrLocked means another process holds the store file open.
	ErrLocked = errors.New("ticketstore: file is locked by another process")
	// ErrCorrupt means the file is not a readable ticket store.
	ErrCorrupt = errors.New("ticketstore: file is corrupt or not a ticket store")
	// ErrNewerFormat means the file was written by a newer revisit whose
	// format this build cannot read.
	ErrNewerFormat = errors.New("ticketstore: file format is newer than this build supports")
	// ErrSealKey means the seal key is missing, not wanted, or wrong.
	ErrSealKey = errors.New("ticketstore: seal key does not match the store")
	// ErrClosed means the store was closed.
	ErrClosed = errors.New("ticketstore: closed")
	// ErrBadRecord means a stored record could not be decoded. The store
	// treats such a record as absent.
	ErrBadRecord = errors.New("ticketstore: bad record")
	// ErrBadPartitionID means a string is not a partition ID.
	ErrBadPartitionID = errors.New("ticketstore: bad partition id")
	// ErrBadCookie means a cookie record cannot be saved: it has no key or
	// no expiry, or is too large.
	ErrBadCookie = errors.New("ticketstore: bad cookie record")
	// ErrBadServer means a server key is not of the form host:port.
	ErrBadServer = errors.New("ticketstore: server key must be host:port")
	// ErrBadExit means a proxy URL cannot name an exit.
	ErrBadExit = errors.New("ticketstore: bad exit")
)
