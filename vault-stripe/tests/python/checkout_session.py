"""Creates one Checkout Session with Stripe's official Python library,
against a local recording server, for tests/client_parity.rs.

Usage: checkout_session.py PORT VARIANT STRIPE_VERSION
  VARIANT is workflow, workflow_app, bundle or subscription.

The parameters are written here the way an application using the official
library would write them; the Rust test builds the same session with
vault-stripe's typed params from the same values (kept in sync by hand:
the FIXTURE below and `fixture` in client_parity.rs). Prints one JSON line:
the library's version, its default API version, and the session id the
server answered with.
"""

import json
import sys

import stripe

# The same values as client_parity.rs.
API_KEY = "sk_test_parity_51Hx0SECRET0123456789"
PURCHASE_ID = "0a4f2a9e-5c1b-4b7e-9d1e-2f1c3b4a5d6e"
USER_ID = "user 42 & co=[vip]"
SUCCESS_URL = "https://vault.example/ok?session={CHECKOUT_SESSION_ID}&from=checkout"
CANCEL_URL = "https://vault.example/cart#back"
WORKFLOW_NAME = "Lead router — n8n & Make [Pro] 100% = ✓"
BUNDLE_NAME = "Ops bundle: CRM + Invoicing ¥ 🚀"
CUSTOMER_EMAIL = "buyer+vault@example.com"
CUSTOMER_ID = "cus_Parity123"
PRICE_ID = "price_1ProMonthly"
APP_REFERENCE = "cart 981/β & co"
APP_ORDER = "A-17 [rush]"
APP_CAMPAIGN = "spring + 100% = ✓"


def workflow():
    return stripe.checkout.Session.create(
        mode="payment",
        line_items=[
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 1999,
                    "product_data": {"name": WORKFLOW_NAME},
                },
                "quantity": 1,
            }
        ],
        client_reference_id=PURCHASE_ID,
        metadata={"vault_purchase_id": PURCHASE_ID},
        payment_intent_data={"metadata": {"vault_purchase_id": PURCHASE_ID}},
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
        customer_email=CUSTOMER_EMAIL,
    )


def workflow_app():
    # What an app adds: its own reference and metadata, beside the vault's.
    return stripe.checkout.Session.create(
        mode="payment",
        line_items=[
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 1999,
                    "product_data": {"name": WORKFLOW_NAME},
                },
                "quantity": 1,
            }
        ],
        client_reference_id=APP_REFERENCE,
        metadata={
            "vault_purchase_id": PURCHASE_ID,
            "order": APP_ORDER,
            "campaign": APP_CAMPAIGN,
        },
        payment_intent_data={"metadata": {"vault_purchase_id": PURCHASE_ID}},
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
        customer_email=CUSTOMER_EMAIL,
    )


def bundle():
    return stripe.checkout.Session.create(
        mode="payment",
        line_items=[
            {
                "price_data": {
                    "currency": "jpy",
                    "unit_amount": 4800,
                    "product_data": {"name": BUNDLE_NAME},
                },
                "quantity": 1,
            }
        ],
        client_reference_id=PURCHASE_ID,
        metadata={"vault_purchase_id": PURCHASE_ID},
        payment_intent_data={"metadata": {"vault_purchase_id": PURCHASE_ID}},
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
        customer=CUSTOMER_ID,
    )


def subscription():
    return stripe.checkout.Session.create(
        mode="subscription",
        line_items=[{"price": PRICE_ID, "quantity": 1}],
        subscription_data={
            "metadata": {"vault_user_id": USER_ID, "vault_tier": "pro"},
            "trial_period_days": 14,
        },
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
        customer_email=CUSTOMER_EMAIL,
    )


def main():
    port, variant, api_version = sys.argv[1], sys.argv[2], sys.argv[3]
    default_api_version = stripe.api_version
    stripe.api_key = API_KEY
    stripe.api_base = "http://127.0.0.1:%s" % port
    stripe.api_version = api_version
    # One request per call, and no telemetry header from earlier calls.
    stripe.max_network_retries = 0
    stripe.enable_telemetry = False
    session = {
        "workflow": workflow,
        "workflow_app": workflow_app,
        "bundle": bundle,
        "subscription": subscription,
    }[variant]()
    print(
        json.dumps(
            {
                "library_version": stripe.VERSION,
                "default_api_version": str(default_api_version),
                "session_id": session.id,
            }
        )
    )


if __name__ == "__main__":
    main()
