"""WiFiDog v1 / apfree-wifidog auth-server protocol under ``/wifidog/``."""
