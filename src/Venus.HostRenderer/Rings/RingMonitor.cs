using System.Diagnostics;
using Venus.Protocol.Ring;

namespace Venus.HostRenderer.Rings;

/// <summary>
/// The ring monitor of one context (fact sheet §4.6): a thread (<c>venus-ringmon-&lt;ctx&gt;</c>, started
/// by the first <see cref="Add"/>) that sets ALIVE (atomic or) on every ring created with a
/// <c>VkRingMonitorInfoMESA</c>, once every min(maxReportingPeriodMicroseconds) µs over the rings
/// currently added. A Mesa guest clears ALIVE in long waits and aborts when it is not set again by its
/// next check (≈3.5 s), so a host must run this. Stamping happens under the monitor's lock:
/// once <see cref="Remove"/> returned, the ring's memory is no longer touched.
/// </summary>
public sealed class RingMonitor : IDisposable
{
    private readonly object _lock = new();
    private readonly List<HostRing> _rings = [];
    private Thread? _thread;
    private bool _changed;
    private bool _stop;

    public RingMonitor(uint contextId)
    {
        ContextId = contextId;
        ThreadName = $"venus-ringmon-{contextId}";
    }

    public uint ContextId { get; }

    public string ThreadName { get; }

    /// <summary>Rings being stamped.</summary>
    public int Count
    {
        get { lock (_lock) return _rings.Count; }
    }

    /// <summary>The period in force: min over the added rings' periods, or null when none is added.</summary>
    public uint? PeriodMicroseconds
    {
        get { lock (_lock) return MinPeriodLocked(); }
    }

    public bool IsRunning => _thread is { IsAlive: true };

    /// <summary>
    /// Start stamping <paramref name="ring"/> (ALIVE is set at once). False when the ring was created
    /// without a monitor period (nothing to do). Throws when it is attached to another monitor or this one
    /// was disposed. A smaller period takes effect at once.
    /// </summary>
    public bool Add(HostRing ring)
    {
        ArgumentNullException.ThrowIfNull(ring);
        if (ring.Layout.MonitorPeriodMicroseconds is not uint period)
            return false;
        if (period == 0)
            throw new ArgumentException("monitor period 0 is invalid", nameof(ring));

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_stop, this);
            if (ring.AttachedMonitor == this)
                return true;
            if (ring.AttachedMonitor is not null)
                throw new InvalidOperationException($"ring {ring.Id} is already monitored by another context");

            uint? before = MinPeriodLocked();
            ring.AttachedMonitor = this;
            _rings.Add(ring);
            ring.SetStatusBits(RingStatusFlags.Alive);
            if (before is null || period < before)
            {
                _changed = true;
                Monitor.PulseAll(_lock);
            }

            if (_thread is null)
            {
                _thread = new Thread(ThreadMain) { IsBackground = true, Name = ThreadName };
                _thread.Start();
            }
        }

        return true;
    }

    /// <summary>Stop stamping <paramref name="ring"/>. False when it was not added here.</summary>
    public bool Remove(HostRing ring)
    {
        ArgumentNullException.ThrowIfNull(ring);
        lock (_lock)
        {
            if (ring.AttachedMonitor != this)
                return false;
            ring.AttachedMonitor = null;
            _rings.Remove(ring); // a longer period takes effect after the current wait
            return true;
        }
    }

    /// <summary>Detach every ring, stop the thread and join it.</summary>
    public void Dispose()
    {
        Thread? thread;
        lock (_lock)
        {
            if (_stop && _thread is null)
                return;
            _stop = true;
            foreach (var ring in _rings)
                ring.AttachedMonitor = null;
            _rings.Clear();
            Monitor.PulseAll(_lock);
            thread = _thread;
            _thread = null;
        }

        if (thread is not null && thread != Thread.CurrentThread)
            thread.Join();
    }

    private uint? MinPeriodLocked()
    {
        uint? min = null;
        foreach (var ring in _rings)
        {
            uint p = ring.Layout.MonitorPeriodMicroseconds!.Value;
            if (min is null || p < min)
                min = p;
        }

        return min;
    }

    private void ThreadMain()
    {
        lock (_lock)
        {
            while (!_stop)
            {
                if (MinPeriodLocked() is not uint period)
                {
                    Monitor.Wait(_lock);
                    continue;
                }

                foreach (var ring in _rings)
                    ring.SetStatusBits(RingStatusFlags.Alive);
                _changed = false;

                long deadline = Stopwatch.GetTimestamp() + (long)((double)period * Stopwatch.Frequency / 1_000_000);
                while (!_stop && !_changed)
                {
                    long left = deadline - Stopwatch.GetTimestamp();
                    if (left <= 0)
                        break;
                    // Monitor.Wait has millisecond granularity: round up so a period is never cut short to 0 ms.
                    int ms = (int)Math.Min(int.MaxValue, (left * 1000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency);
                    Monitor.Wait(_lock, Math.Max(ms, 1));
                }
            }
        }
    }
}
