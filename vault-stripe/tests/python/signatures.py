"""Signs and verifies webhook payloads with Stripe's official library.

Reads a JSON list of cases on stdin; each case is
{"payload", "sign_secret", "timestamp", "verify_payload", "verify_secret",
 "header" (optional: verify this header, even an empty one, instead of the
 generated one), "absent_header" (optional: verify with no header at all)}.
Writes a JSON list of {"header", "ok", "kind", "error"} on stdout: the
header the library generates, the verdict of stripe.Webhook.construct_event,
its error message, and the cause that message names (see KINDS).
"""
import json
import sys

import stripe

# The cause each of the library's messages names, by message prefix, in the
# words of vault_stripe::signature::SignatureError. A message not listed
# here is "unknown", which the Rust test reports as a difference: a new
# library version that words its errors otherwise must be looked at.
KINDS = [
    ("No Stripe-Signature header value was provided", "missing_header"),
    ("No webhook secret value was provided", "empty_secret"),
    ("Unable to extract timestamp and signatures from header", "malformed"),
    ("No signatures found with expected scheme", "malformed"),
    ("No signatures found matching the expected signature", "mismatch"),
    ("Timestamp outside the tolerance zone", "stale"),
]


def kind_of(message):
    for prefix, kind in KINDS:
        if message.startswith(prefix):
            return kind
    return "unknown"


out = []
for case in json.load(sys.stdin):
    header = stripe.WebhookSignature.generate_signature_header(
        case["payload"], case["sign_secret"], timestamp=case["timestamp"]
    )
    if case.get("absent_header"):
        checked = None
    elif case.get("header") is not None:
        checked = case["header"]
    else:
        checked = header
    try:
        stripe.Webhook.construct_event(case["verify_payload"], checked, case["verify_secret"])
        out.append({"header": header, "ok": True, "kind": "ok", "error": None})
    except stripe.SignatureVerificationError as e:
        message = str(e)
        out.append({"header": header, "ok": False, "kind": kind_of(message), "error": message})
json.dump(out, sys.stdout)
