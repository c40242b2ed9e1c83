"""Live lessons and stream quality: the STBs' ``stream.qoe`` reports into the TSDB (issue 11)."""
