using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer.Context;

/// <summary>
/// Retires the fences of a context's timelines (vtest ring indices, render-server SUBMIT_FENCE
/// rings): one thread per timeline in use waits for that timeline's fences oldest first and runs
/// each one's retired action. Fences of one queue signal in submission order, so waiting for the
/// oldest first costs nothing and the retirements reach the guest in the order it asked for them.
/// A timeline never waits behind another's: a guest may wait for one timeline before it signals
/// what another timeline's work needs. (Blocking a pool thread per fence instead starved the pool
/// when many fences were outstanding and left their order to chance.)
/// A device is destroyed only after <see cref="DrainDevice"/>: no thread then waits on a fence of it.
/// </summary>
internal sealed unsafe class TimelineFences(HostContext ctx) : IDisposable
{
    readonly record struct Entry(ulong Device, nint Fns, ulong Fence, Action Retired);

    sealed class Timeline(uint ring)
    {
        public readonly uint Ring = ring;
        public readonly Queue<Entry> Pending = new();
        public Thread? Thread;
    }

    /// <summary>A waiter wakes this often to see whether the context is stopping.</summary>
    const ulong SliceNs = 50_000_000;

    readonly object _lock = new();
    readonly Dictionary<uint, Timeline> _timelines = new();
    bool _stopping;

    /// <summary>
    /// <paramref name="fence"/> (of <paramref name="device"/>, already submitted) retires on
    /// timeline <paramref name="ring"/> after every fence added to it before; then
    /// <paramref name="retired"/> runs on the timeline's thread and the fence is destroyed.
    /// </summary>
    public void Add(uint ring, ulong device, VkDeviceFunctions* fns, ulong fence, Action retired)
    {
        lock (_lock)
        {
            if (!_timelines.TryGetValue(ring, out var t))
            {
                t = new Timeline(ring);
                _timelines[ring] = t;
                t.Thread = new Thread(() => Run(t)) { IsBackground = true, Name = $"venus timeline {ring}" };
                t.Thread.Start();
            }
            t.Pending.Enqueue(new Entry(device, (nint)fns, fence, retired));
            Monitor.PulseAll(_lock);
        }
    }

    void Run(Timeline t)
    {
        while (true)
        {
            Entry e;
            lock (_lock)
            {
                while (t.Pending.Count == 0 && !_stopping) Monitor.Wait(_lock);
                if (t.Pending.Count == 0) return;
                // It stays queued while it is waited for, so that DrainDevice sees it.
                e = t.Pending.Peek();
            }
            var fns = (VkDeviceFunctions*)e.Fns;
            ulong f = e.Fence;
            VkResult r;
            do r = fns->vkWaitForFences(e.Device, 1, &f, 1, SliceNs);
            while (r == VkResult.VK_TIMEOUT && !Volatile.Read(ref _stopping));
            if (r == VkResult.VK_TIMEOUT)
            {
                // Stopping with the work unfinished: the fence may still be in use; leave it to the device's end.
                ctx.Options.Log($"venus-host: context {ctx.Label}: timeline {t.Ring}: stopped with a fence unsignalled");
                lock (_lock) { t.Pending.Clear(); Monitor.PulseAll(_lock); }
                return;
            }
            fns->vkDestroyFence(e.Device, f, null);
            lock (_lock)
            {
                t.Pending.Dequeue();
                Monitor.PulseAll(_lock);
            }
            if (r != VkResult.VK_SUCCESS)
                ctx.Options.Log($"venus-host: context {ctx.Label}: timeline {t.Ring}: waiting for its fence answered {r}; retired anyway");
            try
            {
                e.Retired();
            }
            catch (Exception ex)
            {
                ctx.Options.Log($"venus-host: context {ctx.Label}: timeline {t.Ring}: retiring: {ex.GetType().Name}: {ex.Message}");
            }
        }
    }

    /// <summary>
    /// Waits until no timeline holds a fence of <paramref name="device"/> (call after the device's
    /// vkDeviceWaitIdle, with its timelines unbound so no more come): false when some were still
    /// pending after <paramref name="limit"/>.
    /// </summary>
    public bool DrainDevice(ulong device, TimeSpan limit)
    {
        long deadline = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        lock (_lock)
        {
            while (HasDevice(device))
            {
                long left = deadline - Environment.TickCount64;
                if (left <= 0 || !Monitor.Wait(_lock, (int)Math.Min(left, int.MaxValue))) return !HasDevice(device);
            }
        }
        return true;
    }

    bool HasDevice(ulong device)
    {
        foreach (var t in _timelines.Values)
            foreach (var e in t.Pending)
                if (e.Device == device) return true;
        return false;
    }

    /// <summary>Ends the timeline threads (after the context's devices are gone, so none is waiting) and joins them.</summary>
    public void Dispose()
    {
        List<Thread> threads = new();
        lock (_lock)
        {
            _stopping = true;
            foreach (var t in _timelines.Values) if (t.Thread != null) threads.Add(t.Thread);
            Monitor.PulseAll(_lock);
        }
        foreach (var th in threads)
            if (!th.Join(TimeSpan.FromSeconds(5)))
                ctx.Options.Log($"venus-host: context {ctx.Label}: a timeline thread did not stop");
    }
}
