"""The one exception the AWS importers raise."""

from __future__ import annotations


class AwsFileError(Exception):
    """A configuration file that cannot be imported, located for the operator.

    Attributes:
        path: the file as the operator named it.
        where: "line 42" for the text formats, an element path such as
            "vpn_connection/ipsec_tunnel[2]/ike/pre_shared_key" for XML, or ""
            when the problem is the file as a whole.
        message: what is wrong, never including a pre-shared key.
    """

    def __init__(self, path: str, where: str, message: str) -> None:
        self.path = path
        self.where = where
        self.message = message
        location = f"{path}, {where}" if where else path
        super().__init__(f"{location}: {message}")
