"""Who may write: OIDC sign-in through ``st.login`` when configured, else a local tool.

Browsing never needs a sign-in. Actions that write (tag, export, resolve labels) call
:func:`writer` first: with an ``[auth]`` section in ``.streamlit/secrets.toml`` they require a
signed-in user; without one the app is a single-user local tool and says so.
"""

from __future__ import annotations

import getpass

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError


def oidc_configured() -> bool:
    """Whether an OIDC provider is configured for ``st.login``."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, StreamlitSecretNotFoundError):
        return False


def signed_in_user() -> str | None:
    """The signed-in user's e-mail (or name), or ``None``."""
    if not st.user.get("is_logged_in"):
        return None
    return str(st.user.get("email") or st.user.get("name") or st.user.get("sub"))


def mode_banner() -> None:
    """One line in the sidebar saying how access works (shown on every page)."""
    if not oidc_configured():
        st.sidebar.caption(
            "Single-user local tool: no sign-in is configured, so everyone who can reach "
            "this port can browse and write. Configure OIDC in `.streamlit/secrets.toml` "
            "to require sign-in for writes."
        )
        return
    user = signed_in_user()
    if user:
        st.sidebar.text(f"Signed in as {user}")
        if st.sidebar.button("Log out", key="auth_logout"):
            st.logout()
    else:
        st.sidebar.caption("Browsing is open; sign in to tag, export or resolve labels.")
        if st.sidebar.button("Log in", key="auth_login_sidebar"):
            st.login()


def writer(action: str) -> str | None:
    """The identity allowed to perform a write action, or ``None`` (and a sign-in prompt).

    Args:
        action: what the user is about to do, e.g. ``"export"`` (shown in the prompt).
    """
    if not oidc_configured():
        return f"local:{getpass.getuser()}"
    user = signed_in_user()
    if user is None:
        st.warning(f"Sign in to {action}: writes need a signed-in user on this server.")
        if st.button("Log in", key=f"auth_login_{action}"):
            st.login()
    return user
