namespace Venus.Transport.Vtest;

/// <summary>What went wrong on a vtest connection.</summary>
public enum VtestErrorKind
{
    /// <summary>No socket file at the path (the server is not running there).</summary>
    SocketMissing,
    /// <summary>socket()/connect() failed for another reason (refused, permissions, path too long).</summary>
    ConnectFailed,
    /// <summary>The server closed the connection. virglrenderer drops a client on any failed command (§6.1).</summary>
    ConnectionClosed,
    /// <summary>A reply's length differs from what the command defines.</summary>
    ShortReply,
    /// <summary>A reply header named another command: the stream is out of step.</summary>
    BadHeader,
    /// <summary>The server speaks a vtest protocol older than venus needs (3).</summary>
    ProtocolVersion,
    /// <summary>The server offers no timelines (GET_PARAM MAX_TIMELINE_COUNT = 0); Mesa refuses such a server too.</summary>
    NoTimelines,
    /// <summary>GET_CAPSET said invalid, or the capset did not parse.</summary>
    CapsetInvalid,
    /// <summary>An fd-carrying reply came without a usable SCM_RIGHTS fd.</summary>
    FdMissing,
    /// <summary>mmap of a blob failed.</summary>
    MapFailed,
    /// <summary>A socket or poll call failed.</summary>
    IoError,
    /// <summary>An earlier error left the connection unusable.</summary>
    Faulted,
}

/// <summary>A failure talking to a vtest server; <see cref="Kind"/> says which.</summary>
public sealed class VtestException : Exception
{
    public VtestException(VtestErrorKind kind, string message, int errno = 0)
        : base(message)
    {
        Kind = kind;
        Errno = errno;
    }

    public VtestErrorKind Kind { get; }

    /// <summary>The errno of the failed system call, or 0.</summary>
    public int Errno { get; }
}
