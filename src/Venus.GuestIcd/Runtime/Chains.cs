using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// Structs of an app's output chain that this driver answers itself (they never go to the host):
/// unlinked before the host call and linked back after it, in the app's own memory.
/// </summary>
internal unsafe ref struct ChainSplice
{
    private const int Max = 8;
    private fixed ulong _links[Max * 2]; // (previous, unlinked) pairs, in unlinking order
    private int _count;

    /// <summary>Unlinks from the chain after <paramref name="head"/> every struct whose sType is in <paramref name="local"/>.</summary>
    public void Unlink(VkBaseOutStructure* head, ReadOnlySpan<VkStructureType> local)
    {
        VkBaseOutStructure* prev = head;
        int guard = 0;
        while (prev->pNext != null && guard++ < 1024)
        {
            VkBaseOutStructure* s = prev->pNext;
            if (_count < Max && IsIn(local, s->sType))
            {
                _links[_count * 2] = (ulong)prev;
                _links[_count * 2 + 1] = (ulong)s;
                _count++;
                prev->pNext = s->pNext;
            }
            else
            {
                prev = s;
            }
        }
    }

    private static bool IsIn(ReadOnlySpan<VkStructureType> set, VkStructureType t)
    {
        foreach (VkStructureType x in set)
            if (x == t)
                return true;
        return false;
    }

    /// <summary>Restores the chain as the app built it.</summary>
    public void Relink()
    {
        for (int i = _count - 1; i >= 0; i--)
            ((VkBaseOutStructure*)_links[i * 2])->pNext = (VkBaseOutStructure*)_links[i * 2 + 1];
        _count = 0;
    }
}
