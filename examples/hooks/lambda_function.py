"""A V2 pre-token-generation trigger as it would run on Lambda: the logic of the
example in Cognito's documentation, written for this repository. Users of another
email domain than example.com are refused, as a trigger raising an exception."""


def lambda_handler(event, context):
    email = event["request"]["userAttributes"].get("email", "")
    if not email.endswith("@example.com"):
        raise Exception("Only example.com users")
    event["response"] = {
        "claimsAndScopeOverrideDetails": {
            "idTokenGeneration": {},
            "accessTokenGeneration": {
                "claimsToAddOrOverride": {
                    "my_first_claim": "my_first_value",
                    "my_second_claim": "my_second_value",
                },
                "scopesToAdd": ["openid", "email", "solar-system-data/asteroids.add"],
                "scopesToSuppress": ["profile"],
            },
            "groupOverrideDetails": {
                "groupsToOverride": ["new-group-A", "new-group-B", "new-group-C"],
                "iamRolesToOverride": ["arn:aws:iam::123456789012:role/new_roleA"],
                "preferredRole": "arn:aws:iam::123456789012:role/new_roleA",
            },
        }
    }
    return event
