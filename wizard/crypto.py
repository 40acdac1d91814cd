"""What AWS Site-to-Site VPN accepts, in strongSwan's proposal vocabulary.

AWS publishes its tunnel options as names ("AES128", "SHA2-256", DH group
14); strongSwan writes proposals as dash-joined tokens
("aes128-sha256-modp2048"). This module is the one dictionary between the two,
so the importers, the validation and the screens agree on what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

#: AWS encryption algorithm name -> strongSwan token (phase 1 and phase 2 alike).
ENCRYPTION = {
    "AES128": "aes128",
    "AES256": "aes256",
    "AES128-GCM-16": "aes128gcm16",
    "AES256-GCM-16": "aes256gcm16",
}
#: AWS integrity name -> strongSwan token.
INTEGRITY = {
    "SHA1": "sha1",
    "SHA2-256": "sha256",
    "SHA2-384": "sha384",
    "SHA2-512": "sha512",
}
#: DH group number -> strongSwan token.
DH_GROUPS = {
    2: "modp1024",
    5: "modp1536",
    14: "modp2048",
    15: "modp3072",
    16: "modp4096",
    17: "modp6144",
    18: "modp8192",
    19: "ecp256",
    20: "ecp384",
    21: "ecp521",
    22: "modp1024s160",
    23: "modp2048s224",
    24: "modp2048s256",
}
#: DH groups AWS accepts in phase 1 (IKE) and phase 2 (PFS for ESP).
PHASE1_GROUPS = frozenset({2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24})
PHASE2_GROUPS = frozenset({2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24})

#: Lifetimes AWS accepts, in seconds.
PHASE1_LIFETIME = (900, 28800)
PHASE2_LIFETIME = (900, 3600)
#: AWS's minimum DPD timeout.
DPD_TIMEOUT_MIN = 30

_TOKEN_ALIASES = {
    "sha": "sha1",
    "sha2_256": "sha256",
    "sha2_384": "sha384",
    "sha2_512": "sha512",
    "aes128gcm128": "aes128gcm16",
    "aes256gcm128": "aes256gcm16",
}
_ENC_TOKENS = frozenset(ENCRYPTION.values())
_INTEG_TOKENS = frozenset(INTEGRITY.values())
_GROUP_BY_TOKEN = {token: group for group, token in DH_GROUPS.items()}
_PRF_TOKENS = frozenset("prf" + t for t in _INTEG_TOKENS)
_WEAK = {"modp1024": "DH group 2 (modp1024) is below today's 2048-bit minimum",
         "sha1": "SHA1 integrity is deprecated"}


@dataclass(frozen=True)
class Proposal:
    """One parsed proposal such as `aes128-sha1-modp1024`."""

    encryption: tuple[str, ...]
    integrity: tuple[str, ...]
    groups: tuple[int, ...]
    prf: tuple[str, ...] = ()


class ProposalError(ValueError):
    """A proposal string strongSwan or AWS would refuse; the message says which token."""


def parse_proposal(text: str, *, phase: int) -> list[Proposal]:
    """Parse a strongSwan `ike=`/`esp=` value (comma-separated proposals).

    Args:
        text: e.g. "aes128-sha1-modp1024" or "aes256gcm16-prfsha384-ecp384,aes128-sha1-modp1024!".
        phase: 1 for IKE, 2 for ESP; decides which DH groups AWS allows and
            whether a GCM proposal needs a PRF.

    Raises:
        ProposalError: with the offending token and why.
    """
    allowed_groups = PHASE1_GROUPS if phase == 1 else PHASE2_GROUPS
    value = text.strip().rstrip("!")
    if not value:
        raise ProposalError("empty proposal")
    parsed: list[Proposal] = []
    for chunk in value.split(","):
        enc: list[str] = []
        integ: list[str] = []
        prf: list[str] = []
        groups: list[int] = []
        for raw in chunk.strip().lower().split("-"):
            token = _TOKEN_ALIASES.get(raw, raw)
            if token in _ENC_TOKENS:
                enc.append(token)
            elif token in _INTEG_TOKENS:
                integ.append(token)
            elif token in _PRF_TOKENS:
                prf.append(token)
            elif token in _GROUP_BY_TOKEN:
                group = _GROUP_BY_TOKEN[token]
                if group not in allowed_groups:
                    raise ProposalError(
                        f"DH group {group} ({token}) is not accepted by AWS in phase {phase}"
                    )
                groups.append(group)
            elif token == "":
                raise ProposalError(f"empty token in {chunk!r}")
            else:
                raise ProposalError(f"unknown or unsupported algorithm {raw!r} in {chunk!r}")
        if not enc:
            raise ProposalError(f"no encryption algorithm in {chunk!r}")
        aead = all(e.endswith("gcm16") for e in enc)
        if not integ and not aead:
            raise ProposalError(f"no integrity algorithm in {chunk!r}")
        if phase == 1 and not groups:
            raise ProposalError(f"no DH group in {chunk!r} (IKE needs one)")
        parsed.append(Proposal(tuple(enc), tuple(integ), tuple(groups), tuple(prf)))
    return parsed


def weaknesses(text: str) -> list[str]:
    """Reasons a (valid) proposal is weak, for warnings rather than refusals."""
    tokens = {_TOKEN_ALIASES.get(t, t) for t in text.lower().replace(",", "-").split("-")}
    return [reason for token, reason in _WEAK.items() if token in tokens]


def proposal_from_aws(
    encryption: str, integrity: str | None, dh_group: int | None, *, phase: int
) -> str:
    """Build a strongSwan proposal from AWS's names, as the XML/generic files give them.

    Args:
        encryption: e.g. "aes-128-cbc", "AES128" or "aes-256-gcm-16".
        integrity: e.g. "sha1", "hmac-sha1-96", "SHA2-256"; may be None for a GCM
            phase 2 proposal (AEAD needs no separate integrity).
        dh_group: the DH group number, or None for phase 2 without PFS.
        phase: 1 or 2 (a GCM phase 1 proposal needs a PRF instead of integrity).
    """
    enc = _aws_encryption_token(encryption)
    if integrity is None:
        if not (enc.endswith("gcm16") and phase == 2):
            raise ProposalError(f"{encryption!r} needs an integrity algorithm in phase {phase}")
        integ = ""
    else:
        integ = _aws_integrity_token(integrity)
    parts = [enc]
    if enc.endswith("gcm16"):
        if phase == 1:
            parts.append("prf" + integ)
    else:
        parts.append(integ)
    if dh_group is not None:
        if dh_group not in DH_GROUPS:
            raise ProposalError(f"unknown DH group {dh_group}")
        parts.append(DH_GROUPS[dh_group])
    return "-".join(parts)


def aws_encryption_token(name: str) -> str:
    """AWS's encryption name ("aes-128-cbc", "AES128") as strongSwan's token ("aes128").

    Raises:
        ProposalError: the name is not one AWS offers.
    """
    return _aws_encryption_token(name)


def aws_integrity_token(name: str) -> str:
    """AWS's integrity name ("hmac-sha1-96", "SHA2-256") as strongSwan's token ("sha1").

    Raises:
        ProposalError: the name is not one AWS offers.
    """
    return _aws_integrity_token(name)


def _aws_encryption_token(name: str) -> str:
    key = name.strip().upper().replace("_", "-")
    normalized = {
        "AES-128-CBC": "AES128",
        "AES-256-CBC": "AES256",
        "AES-128-GCM-16": "AES128-GCM-16",
        "AES-256-GCM-16": "AES256-GCM-16",
        "AES-128-GCM": "AES128-GCM-16",
        "AES-256-GCM": "AES256-GCM-16",
    }.get(key, key)
    if normalized not in ENCRYPTION:
        raise ProposalError(f"unsupported encryption algorithm {name!r}")
    return ENCRYPTION[normalized]


def _aws_integrity_token(name: str) -> str:
    key = name.strip().upper()
    for prefix in ("HMAC-",):
        if key.startswith(prefix):
            key = key[len(prefix):]
    key = {
        "SHA1-96": "SHA1",
        "SHA-1": "SHA1",
        "SHA2-256-128": "SHA2-256",
        "SHA-256": "SHA2-256",
        "SHA256": "SHA2-256",
        "SHA-256-128": "SHA2-256",
        "SHA256-128": "SHA2-256",
        "SHA2-384-192": "SHA2-384",
        "SHA384": "SHA2-384",
        "SHA-384": "SHA2-384",
        "SHA-384-192": "SHA2-384",
        "SHA384-192": "SHA2-384",
        "SHA2-512-256": "SHA2-512",
        "SHA512": "SHA2-512",
        "SHA-512": "SHA2-512",
        "SHA-512-256": "SHA2-512",
        "SHA512-256": "SHA2-512",
    }.get(key, key)
    if key not in INTEGRITY:
        raise ProposalError(f"unsupported integrity algorithm {name!r}")
    return INTEGRITY[key]


@dataclass(frozen=True)
class Preset:
    """A set of tunnel options the screens can offer in one choice.

    Plain strings rather than `wizard.model.Crypto` (which imports this
    module); `Crypto(ike_version=p.ike_version, ike=p.ike, esp=p.esp)` makes one.

    Attributes:
        name: short label for a list ("recommended").
        ike_version: 1 or 2.
        ike: phase 1 proposals, most preferred first.
        esp: phase 2 proposals, most preferred first.
        reason: why, in a sentence or two the screen shows beside it.
    """

    name: str
    ike_version: int
    ike: str
    esp: str
    reason: str


RECOMMENDED = Preset(
    name="recommended",
    ike_version=2,
    ike="aes256gcm16-prfsha384-ecp384,aes256-sha256-modp2048",
    esp="aes256gcm16-ecp384,aes256-sha256-modp2048",
    reason=(
        "IKEv2, which AWS recommends over IKEv1, with AES-256: GCM with ECDH P-384 first, "
        "AES-CBC with SHA2-256 and 2048-bit DH as the fallback. Every algorithm here is in "
        "AWS's default tunnel options and none is flagged weak (no SHA1, no 1024-bit group); "
        "phase 2 keeps perfect forward secrecy."
    ),
)
"""The preset a screen offers first; the document's own (IKEv1, aes128-sha1-modp1024) is
accepted but warned about (see `weaknesses`)."""

DOCUMENT = Preset(
    name="AWS document (2016)",
    ike_version=1,
    ike="aes128-sha1-modp1024",
    esp="aes128-sha1-modp1024",
    reason=(
        "What the AWS document configures: IKEv1, AES-128, SHA1, DH group 2. Still accepted by "
        "AWS, but SHA1 and 1024-bit DH are below today's minimums."
    ),
)
"""The seed's settings, as a preset, so a screen can offer "keep the document's" too."""

PRESETS = (RECOMMENDED, DOCUMENT)
