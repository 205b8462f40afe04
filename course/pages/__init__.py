"""The app's pages, one module per page; `app.py` registers them with `st.navigation`."""
