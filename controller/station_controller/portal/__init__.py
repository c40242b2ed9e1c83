"""Free-WiFi captive portal: SMS and voucher login, policies, sessions, records, WiFiDog auth server."""
