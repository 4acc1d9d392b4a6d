package agentdb

/*
#include "agent_db.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"strconv"
)

// Code is the library's status code (AgentDbStatus in include/agent_db.h).
// The numbers are stable; String gives the name every AgentDB surface uses
// ("not_found", ...).
type Code int

// The status codes of the C ABI, in its numbering.
const (
	CodeInvalidArgument   Code = 1
	CodePayloadTooLarge   Code = 2
	CodeNotFound          Code = 3
	CodeAlreadyExists     Code = 4
	CodeCorrupted         Code = 5
	CodeLocked            Code = 6
	CodeReadOnly          Code = 7
	CodeClosed            Code = 8
	CodeModelUnavailable  Code = 9
	CodeEmbedding         Code = 10
	CodeDimensionMismatch Code = 11
	CodeIO                Code = 12
	CodeStorage           Code = 13
	CodePanic             Code = 14
	CodeCancelled         Code = 15
)

// codeNames holds agent_db_status_name for every code this package knows,
// read once from the library so the names have one source.
var codeNames = func() map[Code]string {
	names := make(map[Code]string)
	for c := Code(C.AGENT_DB_OK); c <= CodeCancelled; c++ {
		names[c] = C.GoString(C.agent_db_status_name(C.uint32_t(c)))
	}
	return names
}()

// String is the code's stable name ("invalid_argument", "not_found", ...).
func (c Code) String() string {
	if name, ok := codeNames[c]; ok {
		return name
	}
	// A newer library may append codes this package does not know yet
	// (agent_db_status_name would call them "unknown_status").
	return "code_" + strconv.Itoa(int(c))
}

// Error is every failure the library reports: its status code and the
// message of the failed call. Match a kind with errors.Is and the sentinels
// (errors.Is(err, agentdb.ErrNotFound)), or read Code with errors.As.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "agentdb: " + e.Code.String()
	}
	return "agentdb: " + e.Code.String() + ": " + e.Message
}

// Is reports whether target is an *Error of the same code; a target with a
// message (not a sentinel) must also match it.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Sentinels, one per code, for errors.Is. They carry no message; the
// errors this package returns do.
var (
	ErrInvalidArgument   = &Error{Code: CodeInvalidArgument}
	ErrPayloadTooLarge   = &Error{Code: CodePayloadTooLarge}
	ErrNotFound          = &Error{Code: CodeNotFound}
	ErrAlreadyExists     = &Error{Code: CodeAlreadyExists}
	ErrCorrupted         = &Error{Code: CodeCorrupted}
	ErrLocked            = &Error{Code: CodeLocked}
	ErrReadOnly          = &Error{Code: CodeReadOnly}
	ErrClosed            = &Error{Code: CodeClosed}
	ErrModelUnavailable  = &Error{Code: CodeModelUnavailable}
	ErrEmbedding         = &Error{Code: CodeEmbedding}
	ErrDimensionMismatch = &Error{Code: CodeDimensionMismatch}
	ErrIO                = &Error{Code: CodeIO}
	ErrStorage           = &Error{Code: CodeStorage}
	ErrPanic             = &Error{Code: CodePanic}
	// ErrCancelled: the call's context was done before the call or while
	// it ran (a cancellable search, stopped); nothing was changed. Such an
	// error also matches ctx.Err() (context.Canceled or
	// context.DeadlineExceeded) with errors.Is.
	ErrCancelled = &Error{Code: CodeCancelled}
)

// ctxError is a call stopped by its context: it is both the library's
// *Error (CodeCancelled) and the context's own error, so errors.Is matches
// ErrCancelled and context.Canceled (or DeadlineExceeded) alike.
type ctxError struct {
	err   *Error
	cause error
}

func (e *ctxError) Error() string   { return e.err.Error() + " (" + e.cause.Error() + ")" }
func (e *ctxError) Unwrap() []error { return []error{e.err, e.cause} }

// cancelledBy is the error of a call its context stopped (or never let
// start): err, the library's CodeCancelled error or nil before the call.
func cancelledBy(cause error, err *Error) error {
	if err == nil {
		err = &Error{Code: CodeCancelled, Message: "the context was done before the call"}
	}
	return &ctxError{err: err, cause: cause}
}

// check turns a status into an error. The message is thread-local in the
// library, so the caller must still be on the OS thread that made the call
// (every call site holds runtime.LockOSThread across both).
func check(status C.AgentDbStatus) error {
	if status == C.AGENT_DB_OK {
		return nil
	}
	return &Error{Code: Code(status), Message: C.GoString(C.agent_db_last_error_message())}
}

// invalid is an InvalidArgument found while converting a Go value that the
// C ABI cannot represent (a NUL inside a string, a negative count): the call
// is not made, as the library itself would refuse without changing anything.
func invalid(format string, args ...any) error {
	return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

func closedError() error {
	return &Error{Code: CodeClosed, Message: "the database is closed"}
}

// Version is the library's version ("0.1.0").
func Version() string {
	return C.GoString(C.agent_db_version())
}

// cCall runs one C call and reads its message on the same OS thread.
func cCall(f func() C.AgentDbStatus) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return check(f())
}
