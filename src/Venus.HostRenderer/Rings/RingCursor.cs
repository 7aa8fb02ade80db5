namespace Venus.HostRenderer.Rings;

/// <summary>
/// Decodes and runs the commands of one chunk read from a ring. <paramref name="commands"/> is a
/// private copy of the bytes between the old head and the tail (the guest cannot change it). The
/// dispatcher runs the commands in order and, after each one, calls
/// <see cref="RingCursor.Advance(int)"/> with that command's size: the ring then stores the new head
/// (release), so a guest polling head for a seqno sees every command as soon as it finished.
/// On a decode error the dispatcher calls <see cref="RingCursor.Fail(string)"/> and returns; the ring
/// then sets FATAL and stops. Returning without having advanced over the whole chunk is fatal too
/// (a command running past the tail, §2.1), unless the ring is stopping
/// (<see cref="RingCursor.StopRequested"/>). An exception thrown by the dispatcher is fatal.
/// </summary>
public delegate void RingDispatch(ReadOnlySpan<byte> commands, ref RingCursor cursor);

/// <summary>
/// The dispatcher's view of the chunk being run: how much of it was consumed, the head that goes
/// with that, and the way to report a fatal error. Lives on the ring thread's stack, one per chunk.
/// </summary>
public ref struct RingCursor
{
    private readonly HostRing _ring;
    private readonly uint _start;
    private readonly int _length;
    private int _consumed;
    private string? _error;

    internal RingCursor(HostRing ring, uint start, int length)
    {
        _ring = ring;
        _start = start;
        _length = length;
        _consumed = 0;
        _error = null;
    }

    /// <summary>The ring the chunk came from (e.g. for <see cref="HostRing.WaitVirtqueueSeqno"/>).</summary>
    public readonly HostRing Ring => _ring;

    /// <summary>Bytes in the chunk.</summary>
    public readonly int Length => _length;

    /// <summary>Bytes of the chunk already consumed (advanced over).</summary>
    public readonly int Consumed => _consumed;

    public readonly int Remaining => _length - _consumed;

    /// <summary>The ring head value that corresponds to <see cref="Consumed"/> (free-running u32 byte counter).</summary>
    public readonly uint Head => unchecked(_start + (uint)_consumed);

    /// <summary>The head value at the start of the chunk.</summary>
    public readonly uint ChunkStart => _start;

    /// <summary>Set once <see cref="Fail(string)"/> was called (or an advance was invalid).</summary>
    public readonly bool IsFaulted => _error is not null;

    public readonly string? Error => _error;

    /// <summary>True when the ring is being stopped or failed from outside: a long dispatcher may return early.</summary>
    public readonly bool StopRequested => _ring.StopOrFailRequested;

    /// <summary>
    /// One command of <paramref name="bytes"/> bytes has run: move head past it and publish it (release).
    /// Returns false (and faults the cursor) when <paramref name="bytes"/> is not positive or runs past the chunk.
    /// </summary>
    public bool Advance(int bytes)
    {
        if (_error is not null)
            return false;
        if (bytes <= 0 || bytes > _length - _consumed)
        {
            _error = $"dispatcher advanced by {bytes} bytes with {_length - _consumed} of {_length} left";
            return false;
        }

        _consumed += bytes;
        _ring.PublishHead(Head);
        return true;
    }

    /// <summary>Report a fatal decode/dispatch error: the ring sets FATAL and its thread ends.</summary>
    public void Fail(string reason)
    {
        _error ??= string.IsNullOrEmpty(reason) ? "dispatcher reported a fatal error" : reason;
    }
}
