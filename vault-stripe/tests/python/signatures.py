"""Signs and verifies webhook payloads with Stripe's official library.

Reads a JSON list of cases on stdin; each case is
{"payload", "sign_secret", "timestamp", "verify_payload", "verify_secret",
 "header" (optional: verify this header instead of the generated one)}.
Writes a JSON list of {"header", "ok", "error"} on stdout: the header the
library generates and the verdict of stripe.Webhook.construct_event.
"""
import json
import sys

import stripe

out = []
for case in json.load(sys.stdin):
    header = stripe.WebhookSignature.generate_signature_header(
        case["payload"], case["sign_secret"], timestamp=case["timestamp"]
    )
    checked = case.get("header") or header
    try:
        stripe.Webhook.construct_event(case["verify_payload"], checked, case["verify_secret"])
        out.append({"header": header, "ok": True, "error": None})
    except stripe.SignatureVerificationError as e:
        out.append({"header": header, "ok": False, "error": str(e)})
json.dump(out, sys.stdout)
