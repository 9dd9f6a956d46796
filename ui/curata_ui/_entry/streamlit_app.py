"""The script Streamlit runs (``curata ui`` points ``streamlit run`` here).

It only calls the router in ``curata_ui/app.py``. It lives in its own folder because Streamlit
treats a ``pages/`` folder next to the main script as an old-style multipage app and then
never runs the script's ``st.navigation``; ``curata_ui/pages/`` must not sit beside it.
"""

from curata_ui.app import main

main()
