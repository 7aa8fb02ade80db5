using Venus.HostRenderer.Context;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer;

/// <summary>
/// Query ranges a driver trusts: lavapipe resets, writes and reads the queries a command names
/// without checking them against the pool, so a vkResetQueryPool of 4278190082 queries on a pool
/// of 2 was a host-process fault (found by the lavapipe fuzz target). Each pool's query count, type
/// and statistics are kept by driver handle; every command that names queries must stay inside
/// its pool, vkGetQueryPoolResults must fit its results in the guest's dataSize and
/// vkCmdCopyQueryPoolResults in the bound destination buffer. Any breach ends the context.
/// </summary>
internal sealed unsafe partial class Handlers
{
    const uint Result64 = 0x1, ResultWithAvailability = 0x4, ResultWithStatus = 0x10;
    const int QueryTypePipelineStatistics = 1, QueryTypeTransformFeedback = 1000028004;

    readonly record struct QueryPoolState(uint Count, int Type, uint Statistics, ulong Device);
    readonly Dictionary<ulong, QueryPoolState> _queryPools = new();

    internal partial bool vkCreateQueryPoolCheck(Dispatcher x, vkCreateQueryPool.Args* a)
    {
        if (a->pCreateInfo == null || a->pQueryPool == null) return Fatal("vkCreateQueryPool without a create info or a pool id");
        if (a->pCreateInfo->queryCount == 0) return Fatal("vkCreateQueryPool: a pool of 0 queries");
        return true;
    }

    /// <summary>A created pool's shape, for the range checks of the query commands (host.xml &lt;after&gt;).</summary>
    internal partial void vkCreateQueryPoolAfter(Dispatcher x, vkCreateQueryPool.Args* a, ulong handle)
    {
        var ci = a->pCreateInfo;
        lock (_queryPools) _queryPools[handle] = new QueryPoolState(ci->queryCount, (int)ci->queryType, ci->pipelineStatistics, a->device);
    }

    internal partial void vkDestroyQueryPoolAfter(Dispatcher x, vkDestroyQueryPool.Args* a, ulong handle)
    {
        lock (_queryPools) _queryPools.Remove(handle);
    }

    /// <summary>A destroyed device's query pools are gone with it.</summary>
    void ForgetQueryPools(ulong device)
    {
        lock (_queryPools)
            foreach (var (pool, s) in _queryPools)
                if (s.Device == device) _queryPools.Remove(pool);
    }

    /// <summary>Whether queries [first, first + count) are in <paramref name="pool"/>; a pool not created here is left to the driver.</summary>
    bool InPool(ulong pool, uint first, uint count, string command, out QueryPoolState state)
    {
        bool known;
        lock (_queryPools) known = _queryPools.TryGetValue(pool, out state);
        if (!known) return true;
        if (first < state.Count && count <= state.Count - first) return true;
        return Fatal($"{command}: queries {first}..+{count} of a pool of {state.Count}");
    }

    /// <summary>Bytes one query's results take with <paramref name="flags"/>.</summary>
    static ulong ResultSize(in QueryPoolState pool, uint flags)
    {
        ulong values = pool.Type switch
        {
            QueryTypePipelineStatistics => (ulong)System.Numerics.BitOperations.PopCount(pool.Statistics),
            QueryTypeTransformFeedback => 2,
            _ => 1,
        };
        if ((flags & ResultWithAvailability) != 0) values++;
        if ((flags & ResultWithStatus) != 0) values++;
        return values * ((flags & Result64) != 0 ? 8UL : 4UL);
    }

    /// <summary>Bytes <paramref name="count"/> queries' results take at <paramref name="stride"/>; ulong.MaxValue when that overflows.</summary>
    static ulong ResultsSpan(uint count, ulong stride, ulong each)
    {
        if (count == 0) return 0;
        ulong before = (ulong)(count - 1);
        if (stride != 0 && before > (ulong.MaxValue - each) / stride) return ulong.MaxValue;
        return before * stride + each;
    }

    internal partial bool vkResetQueryPoolCheck(Dispatcher x, vkResetQueryPool.Args* a) =>
        InPool(a->queryPool, a->firstQuery, a->queryCount, "vkResetQueryPool", out _);

    internal partial bool vkCmdResetQueryPoolCheck(Dispatcher x, vkCmdResetQueryPool.Args* a) =>
        InPool(a->queryPool, a->firstQuery, a->queryCount, "vkCmdResetQueryPool", out _);

    internal partial bool vkGetQueryPoolResultsCheck(Dispatcher x, vkGetQueryPoolResults.Args* a)
    {
        if (!InPool(a->queryPool, a->firstQuery, a->queryCount, "vkGetQueryPoolResults", out var pool)) return false;
        if (a->queryCount != 0 && a->pData == null) return Fatal("vkGetQueryPoolResults without a data buffer");
        if (pool.Count != 0)
        {
            ulong span = ResultsSpan(a->queryCount, a->stride, ResultSize(pool, a->flags));
            if (span > a->dataSize) return Fatal($"vkGetQueryPoolResults: {a->queryCount} results at stride {a->stride} do not fit {a->dataSize} bytes");
        }
        return true;
    }

    internal partial bool vkCmdCopyQueryPoolResultsCheck(Dispatcher x, vkCmdCopyQueryPoolResults.Args* a)
    {
        if (!InPool(a->queryPool, a->firstQuery, a->queryCount, "vkCmdCopyQueryPoolResults", out var pool)) return false;
        if (pool.Count != 0)
        {
            ulong span = ResultsSpan(a->queryCount, a->stride, ResultSize(pool, a->flags));
            if (span == ulong.MaxValue || !InBuffer(a->dstBuffer, a->dstOffset, span, "vkCmdCopyQueryPoolResults")) return span == ulong.MaxValue ? Fatal("vkCmdCopyQueryPoolResults: the results' span overflows") : false;
        }
        return true;
    }

    internal partial bool vkCmdBeginQueryCheck(Dispatcher x, vkCmdBeginQuery.Args* a) =>
        InPool(a->queryPool, a->query, 1, "vkCmdBeginQuery", out _);

    internal partial bool vkCmdEndQueryCheck(Dispatcher x, vkCmdEndQuery.Args* a) =>
        InPool(a->queryPool, a->query, 1, "vkCmdEndQuery", out _);

    internal partial bool vkCmdWriteTimestampCheck(Dispatcher x, vkCmdWriteTimestamp.Args* a) =>
        InPool(a->queryPool, a->query, 1, "vkCmdWriteTimestamp", out _);

    internal partial bool vkCmdWriteTimestamp2Check(Dispatcher x, vkCmdWriteTimestamp2.Args* a) =>
        InPool(a->queryPool, a->query, 1, "vkCmdWriteTimestamp2", out _);
}
