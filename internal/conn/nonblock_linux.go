package conn

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxIovecs is the most pieces one writev takes (IOV_MAX on Linux).
const maxIovecs = 1024

// writeNonBlocking writes what the socket takes at once and returns the
// rest. It never waits for the socket to become writable.
func writeNonBlocking(c net.Conn, pieces net.Buffers) (net.Buffers, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return pieces, nil // TLS and the like: the caller writes it all
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return pieces, nil
	}
	var writeErr error
	err = raw.Write(func(fd uintptr) bool {
		for len(pieces) > 0 {
			iov := pieces
			if len(iov) > maxIovecs {
				iov = iov[:maxIovecs]
			}
			n, err := unix.Writev(int(fd), iov)
			switch {
			case errors.Is(err, unix.EINTR):
				continue
			case errors.Is(err, unix.EAGAIN):
				return true // full: leave the rest to the caller
			case err != nil:
				writeErr = err
				return true
			}
			pieces = consume(pieces, n)
		}
		return true // done: never wait
	})
	if err != nil {
		return pieces, err
	}
	return pieces, writeErr
}
