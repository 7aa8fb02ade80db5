namespace Venus.GuestIcd.Runtime;

/// <summary>A VkCommandPool's command buffers, so a pool reset or destroy reaches them.</summary>
internal sealed class CommandPool(ulong id, uint flags, uint queueFamily)
{
    public ulong Id { get; } = id;
    public uint Flags { get; } = flags;
    public uint QueueFamily { get; } = queueFamily;
    public readonly HashSet<CommandBuffer> Buffers = new();

    public void FreeAll()
    {
        lock (Buffers)
        {
            foreach (CommandBuffer cb in Buffers)
                cb.Free();
            Buffers.Clear();
        }
    }
}
