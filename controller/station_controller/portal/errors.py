"""Portal domain errors; the phone-facing pages show each as a message page named by ``page``.

ControllerError (station_controller.errors)
 ├── InvalidInput                422
 │    ├── InvalidPhone                 not a mainland mobile number (11 digits, 1[3-9]…)
 │    └── TermsNotAccepted             the terms checkbox was not ticked
 ├── PermissionDenied            403
 │    ├── BadSignature                 splash redirect unsigned, tampered or older than 10 minutes
 │    ├── LoginExpired                 pending login unknown, used or expired: open any web page again
 │    ├── CodeRejected                 wrong SMS code (``attempts_left``) or code expired: request a new one
 │    ├── VoucherRejected              unknown, revoked, expired or used-up voucher
 │    ├── AccessDenied                 device limit per phone reached, or the hotspot is disabled
 │    ├── QuotaUsedUp                  today's data quota for this phone is used up
 │    ├── GatewayNotRegistered         wifidog gw_id unknown or source address not allowed
 │    └── ForeignGatewayAddress        wifidog login's gw_address/gw_port outside the gateway's networks
 ├── RateLimited                 429
 │    └── SmsRateLimited               cooldown or a daily SMS limit (``limit`` names which)
 └── DeviceUnreachable           503
      └── RouterUnreachable            portal.allow could not be sent to the router; retry
"""

from __future__ import annotations

from ..errors import DeviceUnreachable, InvalidInput, PermissionDenied, RateLimited


class InvalidPhone(InvalidInput):
    code = "invalid_phone"
    page = "invalid_phone"


class TermsNotAccepted(InvalidInput):
    code = "terms_not_accepted"
    page = "terms_required"


class BadSignature(PermissionDenied):
    code = "bad_signature"
    page = "bad_signature"


class LoginExpired(PermissionDenied):
    code = "login_expired"
    page = "login_expired"


class CodeRejected(PermissionDenied):
    code = "code_rejected"
    page = "code_rejected"


class VoucherRejected(PermissionDenied):
    code = "voucher_rejected"
    page = "voucher_rejected"


class AccessDenied(PermissionDenied):
    code = "access_denied"
    page = "denied"


class QuotaUsedUp(PermissionDenied):
    code = "quota_used_up"
    page = "quota"


class GatewayNotRegistered(PermissionDenied):
    code = "gateway_not_registered"
    page = "denied"


class ForeignGatewayAddress(PermissionDenied):
    code = "gateway_address_refused"
    page = "denied"


class SmsRateLimited(RateLimited):
    code = "sms_rate_limited"
    page = "sms_limited"


class RouterUnreachable(DeviceUnreachable):
    code = "router_unreachable"
    page = "unreachable"
