"""Block outbound network access in every Python process of the test suite.

The test suite puts this folder on PYTHONPATH, so the notebook kernels that nbval
starts import it too. Connections to the loopback interface (Jupyter's own
kernel traffic) stay allowed; anything else raises ``NetworkBlockedError`` at
once, so a hidden download fails loudly instead of silently needing the internet.
"""
import ipaddress
import socket


class NetworkBlockedError(ConnectionRefusedError):
    """Raised on any attempt to reach a non-local address while the course is tested."""


def _is_local(host) -> bool:
    if host in (None, "", "localhost") or str(host).endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(host):
    raise NetworkBlockedError(
        f"network access is blocked while the course is tested (tried to reach {host!r}); "
        "notebooks, tests and helpers must work offline"
    )


_getaddrinfo = socket.getaddrinfo
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _is_local(host.decode() if isinstance(host, bytes) else host):
        _refuse(host)
    return _getaddrinfo(host, *args, **kwargs)


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
        _refuse(address[0])
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
        _refuse(address[0])
    return _connect_ex(self, address)


socket.getaddrinfo = _guarded_getaddrinfo
socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
