"""The console's landing page: what a shift opens first (fleet online by region, firing alerts, today's
lessons, running campaigns and jobs, portal users online), updating live."""
