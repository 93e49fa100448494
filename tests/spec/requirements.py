"""Which spec tests apply: ``runOnRequirements`` evaluated against the server we emulate.

The embedded server stands in for a MongoDB 7.0 replica set (issue 13), so a test applies when
one of its requirements admits that deployment: version 7.0, topology ``replicaset``, not
serverless, no authentication, no client-side encryption, no server parameters we cannot vouch
for. This is evaluated against the *target*, not against what the server advertises in
``hello``, so that a server claiming another topology shows up as failures, not as tests
quietly left out. Unified test format, "runOnRequirement":
https://github.com/mongodb/specifications/blob/master/source/unified-test-format/unified-test-format.md
"""

from __future__ import annotations

TARGET_VERSION = (7, 0, 0)
TARGET_TOPOLOGY = "replicaset"

# The highest unified-format schema version the runner implements (the files it reads declare
# at most this; a newer file is left out with a reason rather than misread).
SUPPORTED_SCHEMA = (1, 21)


def version_tuple(text):
    parts = [int(part) for part in str(text).split(".")]
    return tuple(([*parts, 0, 0, 0])[:3])


def unmet(requirement):
    """Why one runOnRequirement does not admit the target, or None when it does."""
    minimum = requirement.get("minServerVersion")
    if minimum and version_tuple(minimum) > TARGET_VERSION:
        return f"requires server >= {minimum}"
    maximum = requirement.get("maxServerVersion")
    if maximum and version_tuple(maximum) < TARGET_VERSION:
        return f"requires server <= {maximum}"
    topologies = requirement.get("topologies")
    if topologies and TARGET_TOPOLOGY not in topologies:
        return f"requires topology {'/'.join(topologies)}"
    if requirement.get("serverless") == "require":
        return "requires serverless"
    if requirement.get("auth") is True:
        return "requires authentication enabled"
    if "authMechanism" in requirement:
        return f"requires auth mechanism {requirement['authMechanism']}"
    if requirement.get("csfle"):
        return "requires client-side field level encryption"
    if requirement.get("serverParameters"):
        return f"requires server parameters {sorted(requirement['serverParameters'])}"
    return None


def not_applicable(requirements):
    """The reason none of ``requirements`` admits the target (None: applicable, or no list)."""
    if not requirements:
        return None
    reasons = [unmet(requirement) for requirement in requirements]
    if any(reason is None for reason in reasons):
        return None
    return "; ".join(dict.fromkeys(reasons))


def schema_unsupported(schema_version):
    major, minor = (int(part) for part in schema_version.split(".")[:2])
    if major != SUPPORTED_SCHEMA[0] or minor > SUPPORTED_SCHEMA[1]:
        return f"schema version {schema_version} is newer than the runner's"
    return None
