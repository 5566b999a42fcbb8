package handler

// AlterUserScramCredentials: v0
//
// Behavior:
// * Upsertions carry the salt and salted password the client derived; the
//   broker keeps only the stored and server keys (RFC 5802), in the
//   metadata log, so they survive restarts
// * Per user, all or nothing: an unknown mechanism
//   (UNSUPPORTED_SASL_MECHANISM), an empty name, iterations outside
//   4096-16384 or an empty salted password (UNACCEPTABLE_CREDENTIAL), the same
//   user and mechanism twice (DUPLICATE_RESOURCE) or deleting a credential
//   that does not exist (RESOURCE_NOT_FOUND) fails every change of that user
// * No authorization: any client that may send requests may alter
//   credentials (docs/UNSUPPORTED.md)

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/metadata"
	"github.com/samsa-broker/samsa/internal/security"
)

// scramChange is one validated deletion (cred nil) or upsertion.
type scramChange struct {
	mechanism string
	cred      *security.ScramCredential
}

func (h *Handler) handleAlterUserScramCredentials(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.AlterUserSCRAMCredentialsRequest)
	resp := r.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	var order []string
	changes := map[string][]scramChange{}
	failed := map[string]error{}
	pairs := map[[2]string]bool{}
	alterable := h.allowedCluster(req, acl.OpAlter)
	add := func(user string, mechCode int8, change func(mech string) (scramChange, error)) {
		if _, ok := changes[user]; !ok {
			if _, bad := failed[user]; !bad {
				order = append(order, user)
			}
		}
		if failed[user] != nil {
			return
		}
		mech, ok := scramMechanismName(mechCode)
		var err error
		switch {
		case !alterable:
			err = errClusterNotAuthorized
		case user == "":
			err = fmt.Errorf("%w: the user name must not be empty", security.ErrUnacceptableCredential)
		case !ok:
			err = fmt.Errorf("%w: SCRAM mechanism %d", security.ErrUnsupportedMechanism, mechCode)
		case pairs[[2]string{user, mech}]:
			err = errDuplicateScram
		}
		if err == nil {
			pairs[[2]string{user, mech}] = true
			var c scramChange
			if c, err = change(mech); err == nil {
				changes[user] = append(changes[user], c)
				return
			}
		}
		failed[user] = err
		delete(changes, user)
	}
	for _, d := range r.Deletions {
		add(d.Name, d.Mechanism, func(mech string) (scramChange, error) {
			return scramChange{mechanism: mech}, nil
		})
	}
	for _, u := range r.Upsertions {
		add(u.Name, u.Mechanism, func(mech string) (scramChange, error) {
			cred, err := security.ScramCredentialFromSaltedPassword(mech, u.Salt, u.SaltedPassword, int(u.Iterations))
			return scramChange{mechanism: mech, cred: &cred}, err
		})
	}
	existing := h.opts.Credentials.ScramUsers()
	for _, user := range order {
		if failed[user] == nil {
			for _, c := range changes[user] {
				if _, ok := existing[user][c.mechanism]; c.cred == nil && !ok {
					failed[user] = fmt.Errorf("attempt to delete a user credential that does not exist: %w", metadata.ErrUnknownCredential)
				}
			}
		}
		if failed[user] == nil {
			for _, c := range changes[user] {
				var err error
				if c.cred == nil {
					err = h.opts.Credentials.DeleteScramCredential(user, c.mechanism)
				} else {
					err = h.opts.Credentials.SetScramCredential(user, c.mechanism, *c.cred)
				}
				if err != nil {
					failed[user] = err
					break
				}
			}
		}
		result := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		result.User = user
		if err := failed[user]; err != nil {
			result.ErrorCode = errorCode(err)
			result.ErrorMessage = errorMessage(err)
			h.log.Info("SCRAM credential change refused", "user", user, "err", err)
		} else {
			h.log.Info("SCRAM credentials changed", "user", user, "changes", len(changes[user]), "remote", req.Conn.RemoteAddr)
		}
		resp.Results = append(resp.Results, result)
	}
	return respond(resp)
}
