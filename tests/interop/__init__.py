"""Public clients nobody here wrote, replayed against the app unchanged but for their base URL.

One module per client. Each builds its requests the way that client's own public source
does (method, URL, query or body encoding, headers) and reads the answers the way that
client does; the comments say which part of the client each test replays. No client code
is copied: the requests are written here from reading it.
"""
