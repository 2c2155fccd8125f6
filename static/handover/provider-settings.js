/* Handover Settings: show only the settings of the selected Handover Provider.
 *
 * Each provider's settings fieldset has the classes "provider-settings provider-<id>".
 * Without JavaScript every provider's fields stay visible; the server validates only
 * those of the selected provider.
 */
'use strict';
{
    function showSelectedProvider(select) {
        for (const fieldset of document.querySelectorAll('.provider-settings')) {
            const group = fieldset.closest('.inline-group') || fieldset;
            const selected = fieldset.classList.contains(`provider-${select.value}`);
            group.style.display = selected ? '' : 'none';
        }
    }

    window.addEventListener('DOMContentLoaded', () => {
        const select = document.getElementById('id_handover_provider');
        if (!select) {
            return;
        }
        showSelectedProvider(select);
        select.addEventListener('change', () => showSelectedProvider(select));
    });
}
