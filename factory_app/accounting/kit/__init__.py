"""What every adapter shares, so that a package's folder holds only what is its own:

- oauth.py: OAuth2 with Authlib (discovery, PKCE, the token calls and their errors, revoke);
- http.py: a JSON HTTP client that turns transport failures into the interface's errors
  and hands every answer to the package's own `classify` hook;
- jsonmoney.py: JSON that keeps money exact (Decimal in, Decimal out).
"""
