"""The stub's errors: CommError is what wandb.errors raises when the
server cannot be reached or answers with an error."""


class Error(Exception):
    pass


class CommError(Error):
    def __init__(self, message, exc=None):
        super().__init__(message)
        self.exc = exc
