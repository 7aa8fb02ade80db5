using Venus.Protocol;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer.Context;

/// <summary>
/// Decodes and runs one command stream of a context: the virtqueue, or one ring. Each has its own
/// reply stream (venus-protocol.md §3.2) and decode arena; all share the context's object table.
/// Any failure is fatal for the context (§9): the dispatcher logs why and stops.
/// </summary>
internal sealed unsafe class Dispatcher : IVnHandleTranslator
{
    public HostContext Ctx { get; }
    public string Name { get; }
    public Handlers Handlers => Ctx.Handlers;
    public VnArena Arena { get; }
    /// <summary>The ring this dispatcher serves; null for the virtqueue.</summary>
    public Rings.HostRing? Ring { get; set; }
    public ulong RingId { get; set; }

    // the dispatchable object of the command being decoded: the first one translated
    int _firstTable = -1;
    ulong _firstId;
    public VkInstanceFunctions* InstanceFunctions;
    public VkDeviceFunctions* DeviceFunctions;
    public ulong FirstId => _firstId;
    /// <summary>The state of the command buffer this dispatcher recorded into last (Families/BoundState.cs): most commands name the same one as the one before.</summary>
    internal Handlers.CommandBufferState? LastCommandBuffer;
    public int FirstTable => _firstTable;

    // reply stream (vkSetReplyCommandStreamMESA); the resource stays pinned while it is the stream
    Resource? _replyResource;
    byte* _replyBase;
    ulong _replySize, _replyPos;
    bool _inExecute;

    public Dispatcher(HostContext ctx, string name)
    {
        Ctx = ctx;
        Name = name;
        Arena = new VnArena(cap: ctx.Options.MaxCommandBytes);
    }

    /// <summary>Runs every command of a stream; false when the context became fatal.</summary>
    public bool Execute(ReadOnlySpan<byte> stream)
    {
        int pos = 0;
        while (pos < stream.Length)
        {
            int used = ExecuteOne(stream[pos..]);
            if (used <= 0) return false;
            pos += used;
        }
        return true;
    }

    /// <summary>Runs the first command of <paramref name="stream"/>; returns its length, or 0 when fatal.</summary>
    public int ExecuteOne(ReadOnlySpan<byte> stream)
    {
        if (Ctx.IsFatal) return 0;
        var d = new VnDecoder(stream, Arena, this);
        int type = (int)d.U32();
        uint flags = d.U32();
        if (d.Failed) { Ctx.Fatal($"{Name}: a command header was cut off ({stream.Length} bytes left)"); return 0; }
        Arena.Reset();
        bool ok;
        try
        {
            ok = CommandDispatch.Run(this, type, flags, ref d);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Ctx.Fatal($"{Name}: {VenusProtocolInfo.CommandName(type) ?? type.ToString()} threw {e.GetType().Name}: {e.Message}");
            return 0;
        }
        finally
        {
            Arena.Reset();
        }
        if (!ok || Ctx.IsFatal)
        {
            Ctx.Fatal($"{Name}: {VenusProtocolInfo.CommandName(type) ?? type.ToString()} failed");
            return 0;
        }
        Ctx.Record(Name, stream[..d.Position]);
        return d.Position;
    }

    // ---- called by the generated dispatch --------------------------------------------------------

    public void BeginCommand()
    {
        _firstTable = -1;
        _firstId = 0;
        InstanceFunctions = null;
        DeviceFunctions = null;
    }

    public bool TryTranslate(ulong id, int objectType, out ulong handle)
    {
        if (!Ctx.Objects.TryGet(id, out var o) || o.Type != objectType)
        {
            handle = 0;
            Ctx.Fatal($"{Name}: object id 0x{id:x} is {(Ctx.Objects.TryGet(id, out var other) ? $"of type {other.Type}, not {objectType}" : "unknown")}");
            return false;
        }
        handle = o.Handle;
        if (_firstTable < 0 && o.Table >= 0)
        {
            _firstTable = o.Table;
            _firstId = id;
            Ctx.SelectTables(o.Table, out InstanceFunctions, out DeviceFunctions);
        }
        return true;
    }

    public bool DecodeFailed(int type, ref VnDecoder d)
    {
        Ctx.Fatal($"{Name}: {VenusProtocolInfo.CommandName(type)}: decode error {d.Error} at byte {d.ErrorPosition}{(d.Error == VnDecodeError.AllocationCap ? $" (it needs more than {Ctx.Options.MaxCommandBytes} bytes, --max-command-bytes)" : "")}");
        return false;
    }

    public bool Unsupported(int type)
    {
        Ctx.Fatal($"{Name}: command type {type} ({VenusProtocolInfo.CommandName(type) ?? "unknown"}) is not supported: {VenusProtocolInfo.WhyNoBody(type) ?? "no handler"}");
        return false;
    }

    public bool MissingFunction(int type)
    {
        Ctx.Fatal($"{Name}: the host driver has no {VenusProtocolInfo.CommandName(type)} for this object");
        return false;
    }

    /// <summary>Registers an object the command created, under the guest's id.</summary>
    public bool Register(ulong id, ulong handle, int type, int table = -2, ulong parent = ulong.MaxValue)
    {
        var o = new HostObject
        {
            Handle = handle,
            Type = type,
            Table = table == -2 ? (IsDispatchable(type) ? _firstTable : -1) : table,
            Parent = parent == ulong.MaxValue ? _firstId : parent,
        };
        if (Ctx.Objects.TryAdd(id, o)) return true;
        if (id != 0 && Ctx.Objects.Count >= Ctx.Objects.Cap)
            Ctx.Fatal($"{Name}: object cap reached: the context holds {Ctx.Objects.Cap} objects (--max-objects)");
        else
            Ctx.Fatal($"{Name}: object id 0x{id:x} is 0 or already in use");
        return false;
    }

    public void Unregister(ulong handle, int type)
    {
        if (handle == 0) return;
        ulong id = Ctx.Objects.IdOf(handle, type);
        if (id != 0) Ctx.Objects.Remove(id, out _);
    }

    static bool IsDispatchable(int type) => type is 1 or 2 or 3 or 4 or 6;

    // ---- reply stream ----------------------------------------------------------------------------

    public bool SetReplyStream(uint resourceId, ulong offset, ulong size)
    {
        if (!Ctx.TryGetResource(resourceId, out var r))
        {
            Ctx.Fatal($"{Name}: reply stream in unknown resource {resourceId}");
            return false;
        }
        if (offset > r.Size || size > r.Size - offset)
        {
            Ctx.Fatal($"{Name}: reply stream outside resource {resourceId}");
            return false;
        }
        if (r.Map == null) { Ctx.Fatal($"{Name}: resource {resourceId} is not mapped by the host"); return false; }
        if (_replyResource != r)
        {
            Ctx.Pin(r);
            Ctx.Unpin(_replyResource);
            _replyResource = r;
        }
        _replyBase = r.Map + offset;
        _replySize = size;
        _replyPos = 0;
        return true;
    }

    public void ClearReplyStream()
    {
        Ctx.Unpin(_replyResource);
        _replyResource = null;
        _replyBase = null;
        _replySize = _replyPos = 0;
    }

    public bool SeekReplyStream(ulong position)
    {
        if (_replyBase == null || position > _replySize) { Ctx.Fatal($"{Name}: reply seek past the stream"); return false; }
        _replyPos = position;
        return true;
    }

    public VnEncoder BeginReply(ulong size, out bool ok)
    {
        if (_replyBase == null || size > _replySize - _replyPos)
        {
            Ctx.Fatal($"{Name}: reply of {size} bytes does not fit the reply stream ({(_replyBase == null ? "none set" : $"{_replySize - _replyPos} left")})");
            ok = false;
            return default;
        }
        ok = true;
        return new VnEncoder(new Span<byte>(_replyBase + _replyPos, (int)size));
    }

    public void EndReply(ref VnEncoder e) => _replyPos += (ulong)e.Position;

    public bool InExecute { get => _inExecute; set => _inExecute = value; }
}
