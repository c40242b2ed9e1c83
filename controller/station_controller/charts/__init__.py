"""Charts for every console page: Apache ECharts (fetched from npm at set-up) and a small wrapper,
served by the controller itself under /console/charts/ (no CDN: CSP stays ``script-src 'self'``)."""
