//go:build !linux

package conn

import "net"

// writeNonBlocking writes nothing where writev on the raw socket is not
// wired up: the caller writes everything on a goroutine of its own.
func writeNonBlocking(_ net.Conn, pieces net.Buffers) (net.Buffers, error) {
	return pieces, nil
}
