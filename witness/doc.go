// Package witness will hold the c2sp.org/tlog-witness cosigning server, its
// bbolt state and the client the log uses to request cosignatures. It is
// empty until the witness work lands; see the project's issue tracker.
package witness
