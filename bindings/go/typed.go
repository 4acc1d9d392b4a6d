package agentdb

import (
	"context"
	"encoding/json"
	"strconv"
)

// StateTyper lets a type choose the StateType SaveTyped stores it as; other
// types are saved as StateContext.
type StateTyper interface {
	AgentDBStateType() StateType
}

// SaveTyped saves v, encoded with encoding/json, as a new version of
// (agent, session): the Go counterpart of the Zig package's comptime-typed
// state. metadata may be nil.
func SaveTyped[T any](ctx context.Context, db *DB, agentID, sessionID uint64, v T, metadata map[string]string) (uint64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, invalid("encode %T: %v", v, err)
	}
	t := StateContext
	if typer, ok := any(v).(StateTyper); ok {
		t = typer.AgentDBStateType()
	}
	return db.SaveState(ctx, agentID, sessionID, t, data, metadata)
}

// LoadTyped loads the latest version of (agent, session) and decodes it as T
// with encoding/json; it returns the version too. A payload that is not a
// JSON T is ErrInvalidArgument (wrapping the decoder's error).
func LoadTyped[T any](ctx context.Context, db *DB, agentID, sessionID uint64) (T, uint64, error) {
	var v T
	s, err := db.LoadState(ctx, agentID, sessionID)
	if err != nil {
		return v, 0, err
	}
	if err := json.Unmarshal(s.Data, &v); err != nil {
		return v, s.Version, &typedError{&Error{Code: CodeInvalidArgument, Message: "decode version " + strconv.FormatUint(s.Version, 10) + ": " + err.Error()}, err}
	}
	return v, s.Version, nil
}

// typedError is an InvalidArgument that also unwraps to the JSON error.
type typedError struct {
	err   *Error
	cause error
}

func (e *typedError) Error() string   { return e.err.Error() }
func (e *typedError) Unwrap() []error { return []error{e.err, e.cause} }
