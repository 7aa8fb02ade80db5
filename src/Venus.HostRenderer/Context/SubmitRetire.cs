using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer.Context;

/// <summary>
/// Keeps a guest's destruction of objects away from the driver while queue work that may use them
/// is unfinished. Destroying a pipeline, buffer, memory, pool, ... that a pending submit still uses
/// is invalid usage that drivers are free to crash on (lavapipe does), so a hostile or buggy guest
/// could otherwise take the worker (or, with <c>--isolation thread</c>, the whole host) down.
///
/// Every guest submit to a queue (vkQueueSubmit, vkQueueSubmit2, vkQueueBindSparse) carries or is
/// followed by a fence of the host's own: the guest's submit gets it directly when the guest passed
/// no fence, otherwise an empty submit with it follows. A fence signal covers every batch submitted
/// to the queue before it, so the newest fence of a queue says whether all of that queue's work is
/// done. Before a device-level vkDestroy*/vkFree* (and the pool resets) reaches the driver, each busy
/// queue of that device is checked: retired (one vkGetFenceStatus) or waited for, up to
/// <see cref="WaitLimitNs"/>; past that the context ends with a line saying why. A well-behaved
/// guest, which destroys only what its waits have retired, pays one status query after each submit
/// and nothing while no work is outstanding. Fences are recycled from a ring per queue; a guest with
/// more submits in flight than the ring holds waits for its oldest.
/// </summary>
internal sealed unsafe class SubmitRetire
{
    /// <summary>Host fences per queue: the most submits a queue may have in flight before the oldest is waited for.</summary>
    public const int Slots = 64;
    /// <summary>Longest wait for a queue's work before a destruction ends the context instead (10 s).</summary>
    public const ulong WaitLimitNs = 10_000_000_000UL;

    sealed class QueueTrack
    {
        public ulong Queue, Device;
        public VkDeviceFunctions* Fns;
        public readonly ulong[] Fences = new ulong[Slots];
        public readonly bool[] InFlight = new bool[Slots];
        public int Next;
        /// <summary>Slot of the newest fence, meaningful while <see cref="Busy"/>.</summary>
        public int Newest;
        public bool Busy;
    }

    readonly HostContext _ctx;
    readonly object _lock = new();

    /// <summary>
    /// Vulkan makes host access to a VkQueue externally synchronized, and one context reaches its
    /// queues from several threads: each ring's thread (guest submits and waits), the virtqueue or
    /// render-server socket thread (timeline fences of SUBMIT_FENCE, emulated sync_fd payloads).
    /// Every host call on a queue of this context holds this lock (guest submits from
    /// <see cref="BeginSubmit"/> to <see cref="EndSubmit"/>); no one waits for the device while
    /// holding it except a submit that finds all <see cref="Slots"/> fences of its queue in flight
    /// and a destruction that must wait for the queue (<see cref="BeforeDestroy"/>).
    /// Two unsynchronized submits to one lavapipe queue lost work: Mesa's guest in a VM on our
    /// render server then waited for good.
    /// </summary>
    public object QueueLock => _lock;
    readonly List<QueueTrack> _queues = new();
    /// <summary>Queues with work not yet seen retired; 0 makes <see cref="BeforeDestroy"/> free.</summary>
    int _busy;

    public SubmitRetire(HostContext ctx) => _ctx = ctx;

    /// <summary>Submits so far that got a host fence (for tests and logs).</summary>
    public long Tracked { get; private set; }
    /// <summary>Destructions that had to wait for queue work (the guest destroyed something in use, or raced its own wait).</summary>
    public long Waited { get; private set; }

    /// <summary>
    /// A host fence for the next guest submit to <paramref name="queue"/> of <paramref name="device"/>,
    /// with the lock held until <see cref="EndSubmit"/>: the fence slot is reserved and ready
    /// (reset). 0 when no fence could be made: the submit then goes untracked, the context ends.
    /// </summary>
    public ulong BeginSubmit(ulong queue, ulong device, VkDeviceFunctions* fns, out int slot)
    {
        Monitor.Enter(_lock);
        slot = -1;
        var q = Find(queue) ?? Add(queue, device, fns);
        int s = q.Next;
        ulong fence = q.Fences[s];
        if (fence == 0)
        {
            var info = new VkFenceCreateInfo { sType = VkFenceCreateInfo.SType };
            if (fns->vkCreateFence(device, &info, null, &fence) != VkResult.VK_SUCCESS || fence == 0)
            {
                _ctx.Fatal("queue submit: the driver could not create a fence to track the submit");
                return 0;
            }
            q.Fences[s] = fence;
        }
        else if (q.InFlight[s])
        {
            // The ring is full: the oldest of Slots submits in flight must finish first.
            ulong f = fence;
            VkResult r = fns->vkWaitForFences(device, 1, &f, 1, WaitLimitNs);
            if (r != VkResult.VK_SUCCESS)
            {
                _ctx.Fatal($"queue submit: more than {Slots} submits in flight and the oldest did not finish in {WaitLimitNs / 1_000_000_000} s ({r})");
                return 0;
            }
            q.InFlight[s] = false;
            fns->vkResetFences(device, 1, &f);
        }
        slot = s;
        return fence;
    }

    /// <summary>Ends what <see cref="BeginSubmit"/> began: the fence counts as the queue's newest when the submit that carried it succeeded.</summary>
    public void EndSubmit(ulong queue, int slot, bool submitted)
    {
        try
        {
            if (slot < 0 || !submitted) return;
            var q = Find(queue)!;
            q.InFlight[slot] = true;
            q.Newest = slot;
            q.Next = (slot + 1) % Slots;
            if (!q.Busy) { q.Busy = true; _busy++; }
            Tracked++;
        }
        finally
        {
            Monitor.Exit(_lock);
        }
    }

    /// <summary>
    /// Called before <paramref name="what"/> of an object of <paramref name="device"/> reaches the
    /// driver: returns once no queue of the device has unfinished work; false (context fatal) when
    /// that work did not finish within <see cref="WaitLimitNs"/>.
    /// </summary>
    public bool BeforeDestroy(ulong device, string what)
    {
        if (Volatile.Read(ref _busy) == 0) return true;
        lock (_lock)
        {
            for (int i = 0; i < _queues.Count; i++)
            {
                var q = _queues[i];
                if (!q.Busy || q.Device != device) continue;
                ulong f = q.Fences[q.Newest];
                VkResult r = q.Fns->vkGetFenceStatus(device, f);
                if (r == VkResult.VK_NOT_READY)
                {
                    if (Waited++ == 0)
                        _ctx.Options.Log($"venus-host: context {_ctx.Label}: {what} waits for queue work that may still use the object (once per context)");
                    r = q.Fns->vkWaitForFences(device, 1, &f, 1, WaitLimitNs);
                    if (r == VkResult.VK_TIMEOUT)
                    {
                        _ctx.Fatal($"{what}: the object may be in use by queue work that has not finished after {WaitLimitNs / 1_000_000_000} s; not destroying it");
                        return false;
                    }
                }
                if (r != VkResult.VK_SUCCESS)
                {
                    _ctx.Fatal($"{what}: waiting for the queue's pending work failed ({r})");
                    return false;
                }
                Retire(q);
            }
        }
        return true;
    }

    /// <summary>
    /// The queues of <paramref name="device"/> that have had guest submits, at most
    /// <paramref name="queues"/>.Length of them, into <paramref name="queues"/>; the count. Every
    /// guest submit goes through <see cref="BeginSubmit"/>, so a queue not listed has no guest work.
    /// </summary>
    public int QueuesOf(ulong device, Span<ulong> queues)
    {
        int n = 0;
        lock (_lock)
            for (int i = 0; i < _queues.Count && n < queues.Length; i++)
                if (_queues[i].Device == device) queues[n++] = _queues[i].Queue;
        return n;
    }

    /// <summary>The newest fence of the queue signalled: every fence before it did too.</summary>
    void Retire(QueueTrack q)
    {
        int reset = 0;
        ulong* fences = stackalloc ulong[Slots];
        for (int s = 0; s < Slots; s++)
        {
            if (!q.InFlight[s]) continue;
            q.InFlight[s] = false;
            fences[reset++] = q.Fences[s];
        }
        if (reset > 0) q.Fns->vkResetFences(q.Device, (uint)reset, fences);
        q.Busy = false;
        _busy--;
    }

    /// <summary>
    /// Forgets the queues of a device that is being destroyed (after its vkDeviceWaitIdle) and
    /// destroys their fences.
    /// </summary>
    public void ForgetDevice(ulong device)
    {
        lock (_lock)
        {
            for (int i = _queues.Count - 1; i >= 0; i--)
            {
                var q = _queues[i];
                if (q.Device != device) continue;
                foreach (ulong f in q.Fences)
                    if (f != 0) q.Fns->vkDestroyFence(device, f, null);
                if (q.Busy) _busy--;
                _queues.RemoveAt(i);
            }
        }
    }

    QueueTrack? Find(ulong queue)
    {
        for (int i = 0; i < _queues.Count; i++)
            if (_queues[i].Queue == queue) return _queues[i];
        return null;
    }

    QueueTrack Add(ulong queue, ulong device, VkDeviceFunctions* fns)
    {
        var q = new QueueTrack { Queue = queue, Device = device, Fns = fns };
        _queues.Add(q);
        return q;
    }
}
