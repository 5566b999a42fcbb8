package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progressInterval is how often the progress line is redrawn.
const progressInterval = 200 * time.Millisecond

// progressBarWidth is the number of cells in the bar itself.
const progressBarWidth = 30

// progressBar redraws one status line on a terminal while a file is
// produced: bytes read out of the file size, and records acknowledged per
// second. Its goroutine is stopped by stop.
type progressBar struct {
	out   io.Writer
	total int64
	tally *produceTally
	start time.Time
	quit  chan struct{}
	done  chan struct{}
}

func startProgressBar(out io.Writer, total int64, tally *produceTally) *progressBar {
	b := &progressBar{
		out:   out,
		total: total,
		tally: tally,
		start: time.Now(),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go func() {
		defer close(b.done)
		ticker := time.NewTicker(progressInterval)
		defer ticker.Stop()
		for {
			select {
			case <-b.quit:
				return
			case <-ticker.C:
				b.draw()
			}
		}
	}()
	return b
}

// stop draws the final state and ends the line. A nil bar does nothing.
func (b *progressBar) stop() {
	if b == nil {
		return
	}
	close(b.quit)
	<-b.done
	b.draw()
	fmt.Fprintln(b.out)
}

func (b *progressBar) draw() {
	line := renderProgress(b.tally.bytesRead.Load(), b.total, b.tally.produced.Load(), time.Since(b.start))
	// \r returns to the line start; ESC[K clears what a longer line left.
	fmt.Fprintf(b.out, "\r%s\x1b[K", line)
}

// renderProgress formats the progress line, e.g.
// "[###############               ]  50%  1.0 MiB / 2.0 MiB  1200 rec/s".
func renderProgress(done, total, records int64, elapsed time.Duration) string {
	fraction := 1.0
	if total > 0 {
		fraction = min(max(float64(done)/float64(total), 0), 1)
	}
	filled := int(fraction * progressBarWidth)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(records) / elapsed.Seconds()
	}
	return fmt.Sprintf("[%s%s] %3d%%  %s / %s  %.0f rec/s",
		strings.Repeat("#", filled), strings.Repeat(" ", progressBarWidth-filled),
		int(fraction*100), formatBytes(done), formatBytes(total), rate)
}

// formatBytes prints a byte count with a binary unit.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	value := float64(n)
	for _, suffix := range []string{"KiB", "MiB", "GiB", "TiB"} {
		value /= unit
		if value < unit || suffix == "TiB" {
			return fmt.Sprintf("%.1f %s", value, suffix)
		}
	}
	panic("unreachable")
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
